import os
os.environ.setdefault('IN_TEST', '1')
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
