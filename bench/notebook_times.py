#!/usr/bin/env python
"""Time every notebook under test (IN_TEST=1, as `make test` runs them), one at a time, and check the budget.

    python bench/notebook_times.py                 # every notebook, 3 runs each
    python bench/notebook_times.py --runs 1 08_pipeline.ipynb

Prints one JSON line per notebook (median and runs, in seconds) and a summary line, the last, with every median and
the notebooks over budget (60 s on an idle 2-core machine, one torch thread, as pytest's two workers each get). Run it
on an idle machine: the figures of a busy one say nothing about the notebooks."""
import argparse, importlib.util, json, os, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location('test_notebooks', ROOT / 'tests' / 'test_notebooks.py')   # the notebooks and runner `make test` uses
_tn = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(_tn)
NBS, RUNNER = _tn.NBS, _tn.RUNNER

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', help='notebook file names (default: all)')
    ap.add_argument('--runs', type=int, default=3, help='runs per notebook (the median is reported)')
    ap.add_argument('--budget', type=float, default=60., help='seconds per notebook')
    a = ap.parse_args(argv)
    nbs = [p for p in NBS if not a.notebooks or p.name in a.notebooks]
    env = {**os.environ, 'IN_TEST': '1', 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1',
           'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1'}
    over, load, medians = [], os.getloadavg()[0], {}
    for nb in nbs:
        runs = []
        for _ in range(a.runs):
            t0 = time.perf_counter()
            r = subprocess.run([sys.executable, '-c', RUNNER, str(nb), ''], cwd=ROOT, env=env, capture_output=True, text=True)
            runs.append(round(time.perf_counter() - t0, 1))
            if r.returncode: sys.exit(f"{nb.name} failed:\n{r.stderr[-3000:]}")
        med = medians[nb.name] = statistics.median(runs)
        if med > a.budget: over.append(nb.name)
        print(json.dumps({'notebook': nb.name, 'median_s': med, 'runs': runs}), flush=True)
    print(json.dumps({'notebooks': len(nbs), 'budget_s': a.budget, 'over_budget': over, 'load_at_start': round(load, 2),
                      'load_at_end': round(os.getloadavg()[0], 2), 'runs': a.runs, 'median_s': medians}))
    return 1 if over else 0

if __name__ == '__main__':
    sys.exit(main())
