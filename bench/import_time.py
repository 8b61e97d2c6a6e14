#!/usr/bin/env python
"""Time `import gift_nb, gift_nb.core, ...` (every module present in gift_nb/) in fresh interpreters.

Two figures, both medians of `--runs` runs, printed as JSON:
- `median_s` (the target, < 2.5 s): the usual import, with gift_nb's bytecode cached in `gift_nb/__pycache__` as Python
  writes it on a first import. One warm-up run first fills the OS file cache and that bytecode cache: it runs with
  bytecode writing allowed even where `PYTHONDONTWRITEBYTECODE` is set (it is on these machines, and `make sync`
  rewrites every module, so without this each run would compile all of gift_nb from source).
- `no_bytecode_median_s`: the first import after the modules changed, every gift_nb module compiled from source (a copy
  of the package without `__pycache__`, imported with bytecode writing off; torch and the rest keep their bytecode).

Usage: python bench/import_time.py [--runs N]"""
import argparse, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules() -> list[str]:
    "Every module of gift_nb and its sub-packages (gift_nb.baselines), from the files in gift_nb/."
    rel = [p.relative_to(ROOT).with_suffix('') for p in (ROOT/'gift_nb').rglob('*.py') if '__pycache__' not in p.parts]
    return sorted('.'.join(r.parts[:-1] if r.name == '__init__' else r.parts) for r in rel)


def time_import(mods: list[str], cwd=ROOT, write_bytecode: bool = None) -> float:
    env = dict(os.environ)
    if write_bytecode is True: env.pop('PYTHONDONTWRITEBYTECODE', None)
    if write_bytecode is False: env['PYTHONDONTWRITEBYTECODE'] = '1'
    t0 = time.perf_counter()
    subprocess.run([sys.executable, '-c', 'import ' + ', '.join(mods)], cwd=cwd, env=env, check=True)
    return time.perf_counter() - t0


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--runs', type=int, default=5)
    args = ap.parse_args()
    mods = modules()
    time_import(mods, write_bytecode=True)  # warm-up: OS file cache and gift_nb's bytecode
    runs = [round(time_import(mods), 3) for _ in range(args.runs)]
    with tempfile.TemporaryDirectory() as tmp:  # the package copied without bytecode, imported from there
        shutil.copytree(ROOT/'gift_nb', Path(tmp)/'gift_nb', ignore=shutil.ignore_patterns('__pycache__', 'weights'))
        cold = [round(time_import(mods, cwd=tmp, write_bytecode=False), 3) for _ in range(args.runs)]
    print(json.dumps({'median_s': round(statistics.median(runs), 3), 'runs': runs, 'target_s': 2.5,
                      'no_bytecode_median_s': round(statistics.median(cold), 3), 'no_bytecode_runs': cold,
                      'modules': mods, 'load_avg_1min': round(os.getloadavg()[0], 2), 'python': platform.python_version()}))
