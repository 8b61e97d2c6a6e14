#!/usr/bin/env python
"""The seed systems (CRAFT, LTX, TExplain) on the benchmark suite: each explanation read as a world concept and scored
against the oracle's top rule (notebook 21). Prints the result as JSON and writes it to `--out`.

    python -m bench.seed_systems                                  # all 12 tasks, 3 methods, 100 images per class
    python -m bench.seed_systems --tasks red_metal,yellow --methods craft,ltx --n 50 --out /tmp/seeds.json

Needs the shipped LTX explainers and TExplain translators of the suite (`make weights`, steps ltx:NAME, texplain:NAME)."""
import argparse, json, os, sys
from pathlib import Path
os.environ.setdefault('HF_HUB_OFFLINE', '1')

ROOT = Path(__file__).resolve().parents[1]

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--tasks', default=None, help='comma-separated task names (default: the whole suite)')
    ap.add_argument('--methods', default='craft,ltx,texplain', help='comma-separated methods (default: %(default)s)')
    ap.add_argument('--n', type=int, default=100, help='class-k images per class (default: %(default)s)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 1)')
    ap.add_argument('--out', default=str(ROOT / 'nbs/results/bench/seeds.json'), help='JSON file written (default: %(default)s)')
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads or int(os.environ.get('OMP_NUM_THREADS') or 1))
    from gift_nb.seed_bench import run_seed_bench
    try:
        res = run_seed_bench(a.tasks.split(',') if a.tasks else None, a.methods.split(','), n=a.n, seed=a.seed, out=a.out,
                             log=lambda s: print(s, file=sys.stderr, flush=True))
    except (ValueError, FileNotFoundError) as e: sys.exit(f"error: {e}")
    print(res.format(), file=sys.stderr)
    print(json.dumps(res.to_dict()))

if __name__ == '__main__':
    main()
