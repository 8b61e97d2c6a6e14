#!/usr/bin/env python
"""Fail when the committed notebooks are not clean, or `gift_nb/` / README.md are not generated from them.

Runs `tools/sync_repo_url.py` (the repository's address from settings.ini in every notebook, badge and config),
`tools/strip_progress.py` (no progress-bar residue in saved outputs), `nbdev_clean`, `nbdev_export` and `tools/render_readme.py`, and compares file hashes before and after,
so uncommitted edits elsewhere never trip it. Exit status 1 lists every file that the three commands changed."""
import hashlib, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def snapshot():
    "sha256 of every tracked-kind file the generators may write."
    files = [*ROOT.glob('nbs/**/*.ipynb'), *ROOT.glob('gift_nb/**/*.py'), ROOT/'README.md', *ROOT.glob('README_files/*'),
             *ROOT.glob('gift_nb/configs/*'), ROOT/'tools'/'gpu_smoke.py', ROOT/'nbs'/'nbdev.yml']
    return {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files if p.is_file() and '.ipynb_checkpoints' not in p.parts and '__pycache__' not in p.parts}

def run(*cmd):
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode: sys.exit(f"`{' '.join(map(str, cmd))}` failed:\n{r.stdout}\n{r.stderr}")

if __name__ == '__main__':
    before = snapshot()
    run(sys.executable, ROOT/'tools'/'sync_repo_url.py')
    run(sys.executable, ROOT/'tools'/'strip_progress.py')
    run(BIN/'nbdev_clean')
    run(BIN/'nbdev_export')
    run(sys.executable, ROOT/'tools'/'render_readme.py')
    after = snapshot()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        print("Notebooks and library are out of sync: tools/sync_repo_url.py, tools/strip_progress.py, `nbdev_clean`, `nbdev_export` and tools/render_readme.py changed:",
              *(f"  {c}" for c in changed),
              "They have been regenerated now: review and commit them (`make sync` does the same), then run `make test` again.",
              sep='\n', file=sys.stderr)
        sys.exit(1)
    print(f"sync check: {len(after)} files, notebooks clean, gift_nb/ and README.md up to date")
