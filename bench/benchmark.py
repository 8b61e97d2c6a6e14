#!/usr/bin/env python
"""The oracle-scored benchmark (notebook 20) as JSON: GIFT on every task of the suite, scored against the oracle profiles.

    python bench/benchmark.py                          # the whole suite -> nbs/results/bench/bench.json + bench.html
    python bench/benchmark.py --quick --out /tmp/b     # three tasks of different shapes (QUICK)
    python bench/benchmark.py --tasks red_metal,no_gray --threads 1

Prints the summary (shares against the targets, time per stage) as one JSON line; the rows are in bench.json. The run
directories go to OUT/runs and are reread on a second call (delete them to measure again)."""
import argparse, json, os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--tasks', default=None, help='comma-separated task names (default: the suite)')
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--out', default=str(ROOT / 'nbs' / 'results' / 'bench'))
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: torch\'s own)')
    a = ap.parse_args()
    import torch
    if a.threads: torch.set_num_threads(a.threads)
    from gift_nb.benchmark import run_benchmark
    res = run_benchmark(a.tasks.split(',') if a.tasks else None, quick=a.quick, out=a.out, log=print)
    print(res.format())
    print(json.dumps({'benchmark': res.summary(), 'env': res.env, 'out': a.out}))

if __name__ == '__main__':
    main()
