#!/usr/bin/env python
"""Time `import gift_nb, gift_nb.core, ...` (every module present in gift_nb/) in fresh interpreters.

One warm-up run (fills the OS file cache), then 5 timed runs. Prints JSON: median and each run in seconds.
Target: median < 2.5 s. Usage: python bench/import_time.py [--runs N]"""
import argparse, json, platform, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules() -> list[str]:
    return ['gift_nb'] + sorted(f"gift_nb.{p.stem}" for p in (ROOT/'gift_nb').glob('*.py') if p.stem != '__init__')


def time_import(mods: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, '-c', 'import ' + ', '.join(mods)], cwd=ROOT, check=True)
    return time.perf_counter() - t0


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--runs', type=int, default=5)
    args = ap.parse_args()
    mods = modules()
    time_import(mods)  # warm-up
    runs = [round(time_import(mods), 3) for _ in range(args.runs)]
    print(json.dumps({'median_s': round(statistics.median(runs), 3), 'runs': runs, 'modules': mods,
                      'target_s': 2.5, 'python': platform.python_version()}))
