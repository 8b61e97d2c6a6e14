#!/usr/bin/env python
"""Write the repository's address from settings.ini everywhere it appears, so that one setting names it.

settings.ini's `git_url` (with `user`, `repo` and `branch`, which must agree with it) is the single source. This tool
rewrites from it:

- the hidden install cell at the top of every notebook of nbs/ that holds code (`pip install "gift_nb[hf] @ git+URL"`),
  added after the `#| default_exp` cell where a notebook lacks one;
- the "Open in Colab" badge near the top of every such notebook (a markdown cell after the title, added where missing,
  pointing at the notebook itself), and every other Colab link (the table of nbs/index.ipynb, hence README.md);
- `GIT_URL` and `BRANCH` in nbs/09a_examples.ipynb (gift_nb.examples), which the `gift-nb` help prints;
- the pip line of the example configs (gift_nb/configs/), the clone line of tools/gpu_smoke.py, nbs/nbdev.yml's repo-url.

Notebooks that hold only markdown (results pages, design notes) get no badge and no install cell: there is nothing to
run. `make sync` runs it before nbdev_clean/nbdev_export/render_readme; tests/test_packaging.py checks the result.

    python tools/sync_repo_url.py            # rewrite what differs, print the files changed
    python tools/sync_repo_url.py --check    # change nothing; exit 1 listing the files that differ
"""
import configparser, hashlib, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BADGE_IMG = 'https://colab.research.google.com/assets/colab-badge.svg'
TOP = 6   # the badge and the install cell must be among a notebook's first TOP cells
INSTALL_MARK = "importlib.util.find_spec('gift_nb') is None"


def settings(root=ROOT) -> dict:
    "user, repo, git_url, branch of settings.ini; a SystemExit when git_url disagrees with user/repo."
    cp = configparser.ConfigParser(delimiters=['=']); cp.read(root/'settings.ini', encoding='utf-8')
    s = {k: cp['DEFAULT'][k].strip() for k in ('user', 'repo', 'git_url', 'branch')}
    s['git_url'] = s['git_url'].rstrip('/').removesuffix('.git')
    if s['git_url'] != f"https://github.com/{s['user']}/{s['repo']}":
        sys.exit(f"settings.ini: git_url {s['git_url']!r} does not agree with user {s['user']!r} and repo {s['repo']!r} "
                 f"(expected https://github.com/{s['user']}/{s['repo']}); fix settings.ini")
    return s


def colab_url(s, rel) -> str: return f"https://colab.research.google.com/github/{s['user']}/{s['repo']}/blob/{s['branch']}/nbs/{rel}"
def badge(s, rel) -> str: return f"[![Open In Colab]({BADGE_IMG})]({colab_url(s, rel)})"


def install_cell(s) -> str:
    return ("#| hide\n"
            "# Colab: install gift_nb (and nbdev, which hidden cells import) when missing.\n"
            "import importlib.util, subprocess, sys\n"
            f"if 'google.colab' in sys.modules and {INSTALL_MARK}:\n"
            "    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', 'nbdev==2.4.14', 'execnb==0.1.18', 'fastcore==1.14.5',\n"
            f"                    'gift_nb[hf] @ git+{s['git_url']}'], check=True)")


def rewrite_text(text, s) -> str:
    "Every address of the repository in `text`, written from the settings."
    text = re.sub(r'git\+https://github\.com/[\w.-]+/[\w.-]+?(?=[\'"\s@#]|$)', f"git+{s['git_url']}", text)
    text = re.sub(r'https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/[\w.-]+/',
                  f"https://colab.research.google.com/github/{s['user']}/{s['repo']}/blob/{s['branch']}/", text)
    text = re.sub(r'git clone https://github\.com/[\w.-]+/([\w.-]+?)(\.git)?(\s+)%cd [\w.-]+',
                  lambda m: f"git clone {s['git_url']}{m.group(3)}%cd {s['repo']}", text)
    text = re.sub(r'^(GIT_URL = )\'[^\']*\'', lambda m: f"{m.group(1)}'{s['git_url']}'", text, flags=re.M)
    text = re.sub(r'^(BRANCH = )\'[^\']*\'', lambda m: f"{m.group(1)}'{s['branch']}'", text, flags=re.M)
    text = re.sub(r'^(\s*repo-url: )"[^"]*"', lambda m: f'{m.group(1)}"{s["git_url"]}"', text, flags=re.M)
    return text


def _src(c): return ''.join(c['source'])
def _lines(text):
    ls = text.split('\n'); return [l + '\n' for l in ls[:-1]] + ([ls[-1]] if ls[-1] else [])
def _cell(kind, text):
    c = {'cell_type': kind, 'id': hashlib.sha1(text.encode()).hexdigest()[:8], 'metadata': {}, 'source': _lines(text)}
    if kind == 'code': c.update(execution_count=None, outputs=[])
    return dict(sorted(c.items()))   # the key order of nbformat (and nbdev_clean)


def sync_notebook(nb, rel, s) -> dict:
    "The notebook `nb` (its path `rel` inside nbs/) with its addresses, badge and install cell written from the settings."
    cells = nb['cells']
    for c in cells:
        t = _src(c); new = rewrite_text(t, s)
        if new != t: c['source'] = _lines(new)
    if not any(c['cell_type'] == 'code' for c in cells): return nb   # a markdown page: nothing to run in Colab
    if not any(c['cell_type'] == 'code' and INSTALL_MARK in _src(c) for c in cells[:TOP]):
        at = next((i + 1 for i, c in enumerate(cells[:TOP]) if _src(c).startswith('#| default_exp')), 0)
        cells.insert(at, _cell('code', install_cell(s)))
    own = badge(s, rel)
    tops = [i for i, c in enumerate(cells[:TOP]) if c['cell_type'] == 'markdown' and BADGE_IMG in _src(c)]
    if tops:   # the badge near the top points at the notebook itself
        c = cells[tops[0]]
        c['source'] = _lines(re.sub(r'\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)', lambda m: own, _src(c), count=1))
    else:
        title = next((i for i, c in enumerate(cells) if c['cell_type'] == 'markdown' and _src(c).startswith('# ')), None)
        cells.insert(0 if title is None else title + 1, _cell('markdown', own))
    return nb


def notebooks(root=ROOT):
    return sorted(p for p in (root/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts and not p.name.startswith('_'))


def other_files(root=ROOT):
    return [*sorted((root/'gift_nb'/'configs').glob('*.yaml')), root/'tools'/'gpu_smoke.py', root/'nbs'/'nbdev.yml']


def sync(root=ROOT, write=True) -> list:
    "Rewrite (or, with write=False, only find) every file whose repository address differs from settings.ini."
    s, changed = settings(root), []
    for p in notebooks(root):
        old = p.read_text(encoding='utf-8')
        nb = sync_notebook(json.loads(old), p.relative_to(root/'nbs').as_posix(), s)
        new = json.dumps(nb, indent=1, ensure_ascii=False) + '\n'
        if new != old:
            changed.append(p)
            if write: p.write_text(new, encoding='utf-8')
    for p in other_files(root):
        if not p.is_file(): continue
        old = p.read_text(encoding='utf-8'); new = rewrite_text(old, s)
        if new != old:
            changed.append(p)
            if write: p.write_text(new, encoding='utf-8')
    return changed


if __name__ == '__main__':
    check = '--check' in sys.argv[1:]
    changed = sync(write=not check)
    rel = [str(p.relative_to(ROOT)) for p in changed]
    if check and rel:
        print("The repository's address differs from settings.ini in:", *(f"  {r}" for r in rel),
              "Run `make sync` (or python tools/sync_repo_url.py) to rewrite them.", sep='\n', file=sys.stderr)
        sys.exit(1)
    print(f"sync_repo_url: {settings()['git_url']}; " + (f"rewrote {', '.join(rel)}" if rel else "every file agrees"))
