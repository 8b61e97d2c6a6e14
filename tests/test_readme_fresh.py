"""The README's hypothesis table is what its code prints today: the index notebook's first example, run in full mode
(as `make nbs` runs it) in a fresh interpreter, prints exactly the saved output of that cell, and README.md shows that
output. A change that moves the table (a new default, a retrained model) fails here until `make nbs` and `make sync`
regenerate both."""
import json, os, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def src(c): return ''.join(c['source'])


def test_readme_table_is_what_the_code_prints():
    cells = [c for c in json.loads((ROOT/'nbs'/'index.ipynb').read_text())['cells'] if c['cell_type'] == 'code']
    setup = next(c for c in cells if 'N, NV = ' in src(c))
    run = next(c for c in cells if 'print(report.format(' in src(c))
    saved = ''.join(''.join(o['text']) for o in run['outputs'] if o.get('name') == 'stdout')
    assert saved.count('\n') >= 4, "the index notebook's example has no saved table: run `make nbs` then `make sync`"
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}   # full mode, the sizes the README shows
    env['PYTHONPATH'] = os.pathsep.join([str(ROOT)] + [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p])
    r = subprocess.run([sys.executable, '-c', src(setup) + '\n' + src(run)], cwd=ROOT/'nbs', env=env, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout == saved, ("the README's table is stale: the index notebook's example now prints\n" + r.stdout +
                               "\nrun `make nbs` (or at least nbs/index.ipynb in full mode) and `make sync`")
    readme = (ROOT/'README.md').read_text()
    assert all(line.rstrip() in readme for line in saved.splitlines()), "README.md differs from nbs/index.ipynb: run `make sync`"
