#!/usr/bin/env python
"""`make nbs`: execute every notebook of nbs/ and nbs/baselines/ (or those named, as paths inside nbs/, e.g.
`baselines/11_ltx.ipynb`) in full mode and save its outputs, so the committed notebooks show real figures. Full mode:
IN_TEST unset, `#| slow` cells run; `#| gpu`, `#| notest` and `#| eval: false` cells are skipped unless NBDEV_FLAGS
names them; `NBS_SKIP="slow"` also skips the slow cells (e.g. those that retrain shipped models). Each notebook runs in
its own interpreter; progress bars are then stripped from the saved outputs (tools/strip_progress.py) and the notebooks
cleaned with nbdev_clean."""
import os, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ONE = r"""
import os, sys
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
path, force, extra = Path(sys.argv[1]), set(sys.argv[2].split()), set(sys.argv[3].split())
skip = ({'gpu', 'notest'} | extra) - force
nb = read_nb(path)
def preproc(cell):
    if cell.cell_type != 'code': return False
    src = cell.source
    flags = {l[3:].strip().split(':')[0] for l in src.splitlines() if l.startswith('#|')}
    return bool(flags & skip) or '#| eval: false' in src or 'nbdev_export(' in src
os.chdir(path.parent)
sh = CaptureShell()
sh.run_all(nb, exc_stop=True, preproc=preproc)
write_nb(nb, path)
"""

def notebooks():
    "The notebooks `make nbs` runs: those of nbs/ and nbs/baselines/ (not the results pages' or the workshop's)."
    return sorted(p for d in ('.', 'baselines') for p in (ROOT/'nbs'/d).glob('*.ipynb') if not p.name.startswith('_'))

def main(names):
    nbs = [ROOT/'nbs'/n for n in names] if names else notebooks()
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}
    env['PYTHONPATH'] = str(ROOT)
    for nb in nbs:
        t = time.perf_counter()
        r = subprocess.run([sys.executable, '-c', ONE, str(nb), os.environ.get('NBDEV_FLAGS', ''), os.environ.get('NBS_SKIP', '')], cwd=ROOT, env=env)
        print(f"{nb.relative_to(ROOT/'nbs')}: {'ok' if r.returncode == 0 else 'FAILED'} in {time.perf_counter() - t:.0f} s", flush=True)
        if r.returncode: sys.exit(r.returncode)
    subprocess.run([sys.executable, ROOT/'tools'/'strip_progress.py'], cwd=ROOT, check=True)   # no progress-bar residue in the docs
    subprocess.run([Path(sys.executable).parent/'nbdev_clean'], cwd=ROOT, check=True)

if __name__ == '__main__': main(sys.argv[1:])
