"""`import gift_nb.<module>` must stay light: no module may import diffusers or transformers at import time."""
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ('diffusers', 'transformers')


def package_modules() -> list[str]:
    "Every module of the package and its sub-packages (gift_nb.baselines), found from the files in gift_nb/ (the generated ones included)."
    rel = [p.relative_to(ROOT).with_suffix('') for p in (ROOT/'gift_nb').rglob('*.py') if '__pycache__' not in p.parts]
    return sorted('.'.join(r.parts[:-1] if r.name == '__init__' else r.parts) for r in rel)


CHECK = """
import importlib, json, sys
for m in sys.argv[1:]: importlib.import_module(m)
print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))
"""


def test_modules_are_discovered():
    mods = package_modules()
    assert {'gift_nb', 'gift_nb.core', 'gift_nb.testing', 'gift_nb.baselines', 'gift_nb.baselines.ltx'} <= set(mods)


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


def test_moved_modules_keep_their_old_names():
    "`gift_nb.craft`, `gift_nb.ltx`, ... moved to gift_nb.baselines: the old names import the same module objects, lazily."
    code = ("import sys, gift_nb; light = not any(m.startswith('gift_nb.') for m in sys.modules); "
            "import gift_nb.craft as c, gift_nb.baselines.craft as c2; from gift_nb.ltx import LTX; import gift_nb.baselines.ltx as L; "
            "from gift_nb import texplain; import importlib; sm = importlib.import_module('gift_nb.saliency_metrics'); "
            "print(light, c is c2, LTX is L.LTX, texplain.__name__, sm.__spec__.name, gift_nb.craft_plus.__name__, c.__spec__.origin.endswith('baselines/craft.py'))")
    r = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True,
                       env={'PATH': '', 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'})
    assert r.stdout.split() == ['True', 'True', 'True', 'gift_nb.baselines.texplain', 'gift_nb.baselines.saliency_metrics',
                                'gift_nb.baselines.craft_plus', 'True'], r.stdout + r.stderr
    import gift_nb
    assert sorted(gift_nb.MOVED_MODULES) == sorted(f"gift_nb.{m}" for m in ('craft', 'craft_plus', 'ltx', 'texplain', 'saliency_metrics'))
