"""`import gift_nb.<module>` must stay light: no module may import diffusers or transformers at import time."""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ('diffusers', 'transformers')


def package_modules() -> list[str]:
    "Every module of the package, found from the files in gift_nb/ (the generated ones included)."
    return ['gift_nb'] + sorted(f"gift_nb.{p.stem}" for p in (ROOT/'gift_nb').glob('*.py') if p.stem != '__init__')


CHECK = """
import importlib, json, sys
for m in sys.argv[1:]: importlib.import_module(m)
print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))
"""


def test_modules_are_discovered():
    mods = package_modules()
    assert 'gift_nb.core' in mods and 'gift_nb.testing' in mods


def test_no_heavy_imports():
    mods = package_modules()
    r = subprocess.run([sys.executable, '-c', CHECK, *mods], cwd=ROOT, capture_output=True, text=True,
                       env={'PATH': '', 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, f"importing {mods} failed:\n{r.stderr[-3000:]}"
    loaded = set(json.loads(r.stdout.strip().splitlines()[-1]))
    assert 'gift_nb' in loaded and 'torch' in loaded    # the check itself works
    heavy = sorted(loaded & set(HEAVY))
    assert not heavy, f"importing {', '.join(mods)} loaded {heavy}; import them inside the functions that need them"


def test_starting_names_import_lazily():
    "The names a user starts with import from `gift_nb` itself, and only on first use: `import gift_nb` loads no torch."
    code = ("import sys, gift_nb; light = 'torch' not in sys.modules; from gift_nb import GIFT, load_classifier, make_dataset, verify, Report; "
            "import gift_nb.pipeline as P; print(light, GIFT is P.GIFT, 'GIFT' in dir(gift_nb))")
    r = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True,
                       env={'PATH': '', 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'})
    assert r.stdout.split() == ['True', 'True', 'True'], r.stdout + r.stderr
