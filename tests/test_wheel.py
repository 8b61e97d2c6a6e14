"""What pip ships is enough: build the wheel, install it into a fresh virtual environment outside the repository, and
run the `gift-nb` command and notebooks from a folder elsewhere, so that a file the code reads but the wheel lacks (a
config, a weight, a data file) fails here and not in Colab.

The fresh environment gets the wheel (`pip install --no-deps --no-index`) and sees the development environment's
third-party packages (torch, nbdev, ...) through a .pth file that names their site-packages folder; the .pth files
of that folder are not processed, so its editable install of gift_nb (which points at a checkout) stays invisible.
No network: `--no-index`, no build isolation (setuptools comes from the development environment), tests/nonet in
every process, HF_HUB_OFFLINE=1. About 40 s on one core. Skipped, saying why, when the wheel cannot be built
offline (no setuptools or pip), or with GIFT_NB_SKIP_WHEEL=1."""
import importlib.util, json, os, shutil, site, subprocess, sys, sysconfig, zipfile
from pathlib import Path
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NONET = ROOT/'tests'/'nonet'
SOURCES = ('setup.py', 'settings.ini', 'MANIFEST.in', 'pyproject.toml', 'README.md', 'LICENSE', 'CONTRIBUTING.md')
NOTEBOOKS = ('index.ipynb', '09a_examples.ipynb')   # the README's notebook, and the package-data API
RUN_NB = """
import sys
from pathlib import Path
from nbdev.test import test_nb
ok, secs = test_nb(Path(sys.argv[1]).resolve(), skip_flags=['notest', 'slow', 'gpu'])
import gift_nb
print('gift_nb:', gift_nb.__file__)
sys.exit(0 if ok else 1)
"""

pytestmark = pytest.mark.skipif(bool(os.environ.get('GIFT_NB_SKIP_WHEEL')), reason='GIFT_NB_SKIP_WHEEL is set')


def sh(cmd, cwd, env=None, timeout=300):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} exited {r.returncode}:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return r.stdout


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    "The wheel, built offline from a copy of the packaging files and gift_nb/ (the checkout gets no build/ or egg-info)."
    missing = [m for m in ('pip', 'setuptools', 'wheel') if importlib.util.find_spec(m) is None]
    if missing: pytest.skip(f"cannot build a wheel offline: {', '.join(missing)} not installed in {sys.prefix} (pip install {' '.join(missing)})")
    d = tmp_path_factory.mktemp('wheel')
    src = d/'src'
    shutil.copytree(ROOT/'gift_nb', src/'gift_nb', ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    for f in SOURCES: shutil.copy2(ROOT/f, src/f)
    r = subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '--no-index',
                        '--disable-pip-version-check', '-q', '-w', str(d/'dist'), str(src)], capture_output=True, text=True, timeout=300)
    if r.returncode: pytest.skip(f"cannot build the wheel offline (pip wheel --no-build-isolation --no-index):\n{r.stderr[-2000:]}")
    return next((d/'dist').glob('gift_nb-*.whl'))


@pytest.fixture(scope='module')
def venv(wheel, tmp_path_factory):
    "(python, gift-nb, env, workdir): a fresh venv holding only the wheel, and an empty folder outside the repository."
    d = tmp_path_factory.mktemp('venv')
    assert ROOT not in d.resolve().parents, "the test folders must lie outside the repository"
    sh([sys.executable, '-m', 'venv', '--without-pip', d/'venv'], d)
    py = d/'venv'/'bin'/'python'
    purelib = Path(sh([py, '-c', "import sysconfig; print(sysconfig.get_paths()['purelib'])"], d).strip())
    dev = [p for p in site.getsitepackages() + [sysconfig.get_paths()['purelib']] if Path(p).is_dir()]
    (purelib/'_gift_nb_dev_site.pth').write_text('\n'.join(dict.fromkeys(dev)) + '\n')   # torch & co., not gift_nb's editable finder
    sh([sys.executable, '-m', 'pip', '--python', py, 'install', '--no-deps', '--no-index', '--disable-pip-version-check', '-q', wheel], d)
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'PYTHONSTARTUP')}
    env.update(PATH=f"{py.parent}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONPATH=str(NONET), GIFT_NB_NO_NETWORK='1',
               HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', IN_TEST='1', OMP_NUM_THREADS='1', MPLBACKEND='Agg')
    work = d/'work'; work.mkdir()
    return py, py.parent/'gift-nb', env, work


def test_wheel_ships_modules_and_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    want = {p.relative_to(ROOT).as_posix() for p in (ROOT/'gift_nb').rglob('*')
            if p.is_file() and '__pycache__' not in p.parts and p.suffix != '.pyc'}
    assert not want - names, f"the wheel lacks {sorted(want - names)[:10]}"
    assert {'gift_nb/configs/world.yaml', 'gift_nb/configs/colab_gpu.yaml', 'gift_nb/data/smollm2_answers.jsonl'} <= names
    ep = next(n for n in names if n.endswith('entry_points.txt'))
    assert 'gift-nb = gift_nb.cli:main' in zipfile.ZipFile(wheel).read(ep).decode()


def test_installed_package_is_the_wheel(venv):
    py, _, env, work = venv
    out = json.loads(sh([py, '-c', "import json, gift_nb, gift_nb.examples as e; print(json.dumps([gift_nb.__file__, "
                                   "str(e.example_config('world')), str(e.data_file('smollm2_answers.jsonl'))]))"], work, env))
    site_dir = str(py.parents[1])
    assert all(p.startswith(site_dir) for p in out), f"gift_nb must come from the fresh venv {site_dir}, not {out}"


def test_help_names_the_repository_and_example_checks(venv):
    from gift_nb.examples import GIT_URL
    _, gift, env, work = venv
    assert GIT_URL in sh([gift, '--help'], work, env)
    out = sh([gift, 'run', '--example', 'world', '--check'], work, env)
    assert 'check: 0 problems found' in out


def test_demo_from_the_wheel(venv):
    _, gift, env, work = venv
    sh([gift, 'demo', '--n', '4', '--n-verify', '20', '--n-oracle', '20', '--out', 'demo'], work, env)
    rep = json.loads((work/'demo'/'report.json').read_text())
    assert rep['meta']['task'] == 'red_metal' and (work/'demo'/'report.html').is_file()


def test_run_a_shipped_example_config(venv):
    "`gift-nb init-config world` copies the packaged config; the copy, made small, runs from the working directory."
    _, gift, env, work = venv
    d = work/'cfg'; d.mkdir()
    sh([gift, 'init-config', 'world'], d, env)
    cfg = yaml.safe_load((d/'world.yaml').read_text())
    cfg['data']['n'], cfg['verify']['n'], cfg['oracle'] = 6, 20, False
    (d/'small.yaml').write_text(yaml.safe_dump(cfg))
    out = sh([gift, 'run', 'small.yaml'], d, env)
    assert 'report:' in out and (d/'gift_nb_runs'/'small'/'report.json').is_file()


@pytest.mark.parametrize('name', NOTEBOOKS)
def test_notebook_runs_from_the_wheel(venv, name):
    "The notebook, copied out of the repository, runs with the fresh venv's python (IN_TEST sizes)."
    py, _, env, work = venv
    d = work/'nb'/name.split('.')[0]; d.mkdir(parents=True)
    shutil.copy2(ROOT/'nbs'/name, d/name)
    (d/'run_nb.py').write_text(RUN_NB)
    out = sh([py, 'run_nb.py', name], d, env, timeout=600)
    assert f"gift_nb: {py.parents[1]}" in out, out
