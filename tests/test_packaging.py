"""One setting names the repository, and what pip ships is what the code reads.

settings.ini's `git_url` (with `user`, `repo`, `branch`) is the single source of the repository's address: every
notebook's hidden install cell and "Open in Colab" badge, the Colab links of the README, gift_nb.examples (printed by
`gift-nb --help`) and the example configs must agree with it (tools/sync_repo_url.py writes them; `make sync`).
Package data: the files the code reads at run time live inside gift_nb/ and are declared in settings.ini's
`package_data` (read by setup.py) and MANIFEST.in; tests/test_wheel.py installs a real wheel and runs it."""
import configparser, fnmatch, json, re, shlex, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import sync_repo_url as S   # noqa: E402

CFG = configparser.ConfigParser(delimiters=['=']); CFG.read(ROOT/'settings.ini', encoding='utf-8')
CFG = CFG['DEFAULT']
GIT_URL = CFG['git_url']
NBS = S.notebooks()


def cells(p): return json.loads(p.read_text(encoding='utf-8'))['cells']
def src(c): return ''.join(c['source'])


def test_settings_name_one_repository():
    assert GIT_URL == f"https://github.com/{CFG['user']}/{CFG['repo']}", "settings.ini: git_url must be https://github.com/<user>/<repo>"
    assert S.settings()['git_url'] == GIT_URL


def test_sync_tool_has_nothing_to_change():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'sync_repo_url.py'), '--check'], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize('nb', NBS, ids=lambda p: str(p.relative_to(ROOT/'nbs')))
def test_notebook_install_cell_and_badge(nb):
    cs = cells(nb)
    if not any(c['cell_type'] == 'code' for c in cs):   # a markdown page (results, design notes): nothing to run in Colab
        assert not any(S.INSTALL_MARK in src(c) for c in cs)
        return
    top = cs[:S.TOP]
    install = [c for c in top if c['cell_type'] == 'code' and S.INSTALL_MARK in src(c)]
    assert install, f"{nb.name}: no hidden install cell among its first {S.TOP} cells (run make sync)"
    assert src(install[0]).startswith('#| hide') and f"'gift_nb[hf] @ git+{GIT_URL}'" in src(install[0])
    rel = nb.relative_to(ROOT/'nbs').as_posix()
    badge = f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({S.colab_url(S.settings(), rel)})"
    assert any(c['cell_type'] == 'markdown' and badge in src(c) for c in top), f"{nb.name}: no Colab badge to itself near the top"


def addresses(text):
    "Every GitHub or Colab address of a repository in `text`, as (owner/repo, branch or None)."
    out = [(m, None) for m in re.findall(r'(?:git\+|git clone )https://github\.com/([\w.-]+/[\w.-]+?)(?:\.git)?(?=[\'"\s@#)]|$)', text)]
    out += re.findall(r'https://colab\.research\.google\.com/github/([\w.-]+/[\w.-]+)/blob/([\w.-]+)/', text)
    return out


def test_every_address_agrees_with_settings():
    files = NBS + S.other_files() + [ROOT/'README.md', ROOT/'gift_nb'/'examples.py', ROOT/'gift_nb'/'cli.py']
    want = f"{CFG['user']}/{CFG['repo']}"
    found = 0
    for p in files:
        for repo, branch in addresses(p.read_text(encoding='utf-8')):
            found += 1
            assert repo == want and branch in (None, CFG['branch']), f"{p.relative_to(ROOT)}: {repo}@{branch}, settings.ini says {want}@{CFG['branch']}"
    assert found > len(NBS)


def test_cli_help_names_the_repository(capsys):
    from gift_nb import examples
    from gift_nb.cli import main
    assert (examples.GIT_URL, examples.BRANCH) == (GIT_URL, CFG['branch'])
    assert examples.PIP_SPEC == f"gift_nb[hf] @ git+{GIT_URL}"
    assert main(['--help']) == 0
    out = capsys.readouterr().out
    assert GIT_URL in out and examples.colab_url() in out and 'gift-nb run --example world' in out


def test_sync_rewrites_a_changed_address(tmp_path):
    "A new git_url in settings.ini reaches the install cell, the badge, the examples module and the configs."
    for f in ('settings.ini',): (tmp_path/f).write_text((ROOT/f).read_text())
    for rel in ('nbs/01_world.ipynb', 'nbs/09a_examples.ipynb', 'nbs/results/verification.ipynb', 'gift_nb/configs/colab_gpu.yaml'):
        (tmp_path/rel).parent.mkdir(parents=True, exist_ok=True); (tmp_path/rel).write_text((ROOT/rel).read_text())
    ini = tmp_path/'settings.ini'
    t = ini.read_text().replace(f"git_url = {GIT_URL}", 'git_url = https://github.com/someone/gift').replace(f"user = {CFG['user']}", 'user = someone')
    ini.write_text(re.sub(r'^repo = .*$', 'repo = gift', t, flags=re.M))
    changed = {p.relative_to(tmp_path).as_posix() for p in S.sync(tmp_path)}
    assert changed == {'nbs/01_world.ipynb', 'nbs/09a_examples.ipynb', 'gift_nb/configs/colab_gpu.yaml'}
    text = (tmp_path/'nbs'/'01_world.ipynb').read_text()
    assert 'git+https://github.com/someone/gift' in text and 'colab.research.google.com/github/someone/gift/blob/main/nbs/01_world.ipynb' in text
    assert GIT_URL not in text
    assert "GIT_URL = 'https://github.com/someone/gift'" in (tmp_path/'nbs'/'09a_examples.ipynb').read_text()
    assert S.sync(tmp_path) == []   # idempotent
    ini.write_text(ini.read_text().replace('user = someone', 'user = other'))
    with pytest.raises(SystemExit, match='does not agree'): S.settings(tmp_path)


# ---------------------------------------------------------------- package data

def package_data():
    return shlex.split(CFG['package_data'])


def test_package_data_covers_every_data_file():
    "Every non-Python file in gift_nb/ is declared as package data (settings.ini -> setup.py) and in MANIFEST.in."
    pats = package_data()
    manifest = [l.split() for l in (ROOT/'MANIFEST.in').read_text().splitlines() if l.startswith('recursive-include gift_nb/')]
    files = [p.relative_to(ROOT/'gift_nb').as_posix() for p in (ROOT/'gift_nb').rglob('*')
             if p.is_file() and p.suffix not in ('.py', '.pyc') and '__pycache__' not in p.parts]
    assert {f.split('/')[0] for f in files} >= {'weights', 'configs', 'data'}
    for f in files:
        assert any(fnmatch.fnmatch(f, pat) for pat in pats), f"gift_nb/{f} is not in settings.ini's package_data: pip would not ship it"
        d, name = f.rsplit('/', 1)
        assert any(m[1] == f"gift_nb/{d}" and any(fnmatch.fnmatch(name, g) for g in m[2:]) for m in manifest), f"gift_nb/{f} is not in MANIFEST.in"
    assert "package_data={'gift_nb': package_data}" in (ROOT/'setup.py').read_text()


def test_no_path_outside_the_package_at_run_time():
    "The library and the notebooks read shipped files through gift_nb.examples, never through nbs/data/."
    for p in [*(ROOT/'gift_nb').rglob('*.py'), *NBS]:
        text = p.read_text(encoding='utf-8')
        assert 'nbs/data' not in text and "Path('data/" not in text, f"{p.relative_to(ROOT)} reads a file pip does not ship"
    assert not list((ROOT/'nbs'/'data'/'configs').glob('*.yaml')), "example configs belong in gift_nb/configs/"


def test_examples_api(tmp_path):
    from gift_nb.examples import EXAMPLES, copy_example, data_file, example_config, package_path
    from gift_nb.cli import main
    assert sorted(p.stem for p in package_path('configs').glob('*.yaml')) == sorted(EXAMPLES)
    assert data_file('smollm2_answers.jsonl').is_file()
    assert main(['init-config', 'world', '--dest', str(tmp_path)]) == 0
    assert (tmp_path/'world.yaml').read_text() == example_config('world').read_text()
    assert main(['init-config', 'world', '--dest', str(tmp_path)]) == 2   # exists: not overwritten without --force
    assert main(['init-config', 'world', '--dest', str(tmp_path), '--force']) == 0
    assert copy_example('colab_gpu', tmp_path/'sub'/'gpu.yaml') == tmp_path/'sub'/'gpu.yaml'
    assert main(['run', '--example', 'colab_gpu']) == 2   # names files of its own: copy it first
    assert main(['run']) == 2 and main(['run', 'x.yaml', '--example', 'world']) == 2
