import os, sys
from pathlib import Path
os.environ.setdefault('IN_TEST', '1')
# No network in any test process: this one, and every Python subprocess that inherits the environment (tests/nonet).
NONET = Path(__file__).resolve().parent / 'nonet'
os.environ['GIFT_NB_NO_NETWORK'] = '1'
os.environ['PYTHONPATH'] = os.pathsep.join([str(NONET)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p])
sys.path.insert(0, str(NONET))
import sitecustomize as _nonet
_nonet.block_network()
import torch
torch.set_num_threads(1)  # two xdist workers on two cores

def pytest_terminal_summary(terminalreporter):
    "Print each notebook's wall time (recorded by tests/test_notebooks.py, also under xdist)."
    rows = [(r.nodeid.split('[', 1)[-1].rstrip(']'), dict(r.user_properties).get('notebook_seconds'))
            for key in ('passed', 'failed') for r in terminalreporter.stats.get(key, [])
            if r.when == 'call' and 'notebook_seconds' in dict(r.user_properties)]
    if rows:
        terminalreporter.section('notebook times (s)')
        for name, s in sorted(rows, key=lambda t: -t[1]): terminalreporter.write_line(f"{s:6.1f}  {name}")
