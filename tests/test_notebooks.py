"""Every notebook runs top to bottom under nbdev's `test_nb`, each in its own interpreter.

Cells flagged with a `tst_flags` entry of settings.ini (`notest slow gpu`) are skipped unless forced with
`NBDEV_FLAGS="slow" make test`. Each notebook's wall time is printed in the summary. The time budget (60 s per
notebook on an idle 2-core machine) is checked by `bench/notebook_times.py`, not here: a timed assertion fails on a
busy machine for reasons that have nothing to do with the code.

The workshop's exercise notebooks (`nbs/workshop/*.ipynb`) hold `...` placeholders and are not run: their completed
copies in `nbs/workshop/solutions/` are, and `tests/test_workshop.py` checks that each is its exercise notebook with
the exercise cells filled in."""
import os, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NBS = sorted(p for p in (ROOT/'nbs').rglob('*.ipynb')
             if '.ipynb_checkpoints' not in p.parts and not p.name.startswith('_') and p.parent != ROOT/'nbs'/'workshop')
RUNNER = """
import sys
from pathlib import Path
from nbdev.config import get_config
from nbdev.test import test_nb as run_nb
cfg = get_config()
ok, _ = run_nb(Path(sys.argv[1]), skip_flags=cfg.tst_flags.split(), force_flags=sys.argv[2].split(), basepath=cfg.config_path)
sys.exit(0 if ok else 1)
"""

@pytest.mark.parametrize('nb', NBS, ids=lambda p: str(p.relative_to(ROOT/'nbs')))
def test_notebook(nb, record_property):
    env = {**os.environ, 'IN_TEST': '1', 'PYTHONPATH': os.pathsep.join([str(ROOT), str(ROOT/'tests'/'nonet')]), 'GIFT_NB_NO_NETWORK': '1'}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, '-c', RUNNER, str(nb), os.environ.get('NBDEV_FLAGS', '')],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    record_property('notebook_seconds', round(dt, 1))
    assert r.returncode == 0, f"{nb.name} failed:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
