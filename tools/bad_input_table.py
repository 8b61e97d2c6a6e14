"""Run every case of the bad-input matrix (tests/bad_input_cases.py) and write nbs/results/bad_input.md: what was
wrong, where (Python API, command line, config), and the one line the user got.

    python tools/bad_input_table.py        # about half a minute; run after adding a case or changing a message
"""
import os, subprocess, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT/'tests'), str(ROOT)]
os.environ.setdefault('HF_HUB_OFFLINE', '1')

from bad_input_cases import CASES          # noqa: E402
from test_bad_input import check, outcome  # noqa: E402

SURFACE = {'python': 'Python', 'cli': 'command line', 'config': 'config'}


def main():
    rows, failures = [], []
    for c in CASES:
        with tempfile.TemporaryDirectory() as d:
            d = Path(d).resolve(); cwd = os.getcwd(); os.chdir(d)
            try: line = check(c, outcome(c, d))
            except AssertionError as e: failures.append(str(e)); line = f"FAILED: {e}"
            finally: os.chdir(cwd)
            line = line.replace(str(d), '<tmp>').replace(str(ROOT), '<repo>')
        how = f"`{c.error}`" if c.surface == 'python' else f"exit {c.code}"
        rows.append(f"| `{c.id}` | {SURFACE[c.surface]} | {c.what} | {how} | {line.replace('|', '¦')} |")
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    page = ["# Bad input: what each mistake gets", "",
            f"{len(CASES)} cases ({', '.join(f'{sum(c.surface == s for c in CASES)} {v}' for s, v in SURFACE.items())}), "
            f"each run by `tests/test_bad_input.py`: from Python one exception, from `gift-nb` one line and exit status 2 "
            f"(`--debug` adds the traceback); raised before any model runs, and nothing is written. Messages as of commit "
            f"{commit}, written by `python tools/bad_input_table.py`; `<tmp>` is the case's folder, `<repo>` the repository.", "",
            "| case | where | bad input | raises / exits | message |", "|---|---|---|---|---|", *rows, ""]
    (ROOT/'nbs'/'results'/'bad_input.md').write_text('\n'.join(page))
    print(f"{len(CASES) - len(failures)} of {len(CASES)} cases as expected; wrote nbs/results/bad_input.md")
    for f in failures: print(f, file=sys.stderr)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
