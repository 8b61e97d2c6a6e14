"""Safe loading, checked.

1. No unsafe deserialisation or code execution in the package source (gift_nb/**/*.py) nor in the notebooks' code cells:
   `torch.load` only with `weights_only=True`; no `pickle`/`dill` `load(s)`; `yaml.safe_load` only; no bare
   `eval(...)`/`exec(...)` (methods such as `model.eval()` are fine); `trust_remote_code` never `True`, and every
   parameter of that name defaults to `False`. The scan reads the syntax tree (imports are followed, so
   `from pickle import loads` is caught too), and its own tests below plant bad lines to show that it can fail.
2. Every shipped model is loaded through `gift_nb.model_io.load_weights`, which checks the weights' sha256 against the
   model card: a copy with one flipped byte fails with one clear error (file, expected and actual sha256, the fix)."""
import ast, importlib, inspect, json, re, shutil
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / 'gift_nb'
WEIGHTS = PKG / 'weights'
MODULES = sorted(p for p in PKG.rglob('*.py') if '__pycache__' not in p.parts)   # sub-packages (gift_nb.baselines) included

def _modname(p): return '.'.join(p.relative_to(ROOT).with_suffix('').parts)

# ---------------------------------------------------------------- 1. the scanner
PICKLERS = {'pickle', '_pickle', 'cPickle', 'dill', 'cloudpickle'}
YAML_UNSAFE = {'load', 'load_all', 'full_load', 'full_load_all', 'unsafe_load', 'unsafe_load_all'}
SAFETENSORS_LOADS = {'safetensors.torch.load_file', 'safetensors.torch.load', 'safetensors.safe_open',
                     'safetensors.numpy.load_file', 'safetensors.numpy.load'}

def _aliases(tree):
    "Local name -> qualified name, from the module's imports (`import torch as th`, `from pickle import loads`)."
    out = {}
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            for a in n.names: out[a.asname or a.name.split('.')[0]] = a.name if a.asname else a.name.split('.')[0]
        elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
            for a in n.names: out[a.asname or a.name] = f"{n.module}.{a.name}"
    return out

def _qualname(node, aliases):
    "Dotted name of a call's target (`torch.load`, `eval`), imports resolved; None for anything else."
    parts = []
    while isinstance(node, ast.Attribute): parts.append(node.attr); node = node.value
    if not isinstance(node, ast.Name): return None
    parts.append(aliases.get(node.id, node.id))
    return '.'.join(reversed(parts))

def _is_true(node): return isinstance(node, ast.Constant) and node.value is True
def _is_false(node): return isinstance(node, ast.Constant) and node.value is False

def scan(code:str) -> list:
    "Unsafe loading or code execution in `code` (Python source): a list of 'line N: what' strings."
    tree = ast.parse(code)
    aliases, bad = _aliases(tree), []
    def flag(n, what): bad.append(f"line {n.lineno}: {what}")
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            a = n.args
            pos = a.posonlyargs + a.args
            defaults = dict(zip([p.arg for p in pos][len(pos) - len(a.defaults):], a.defaults))
            defaults.update({p.arg: d for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None})
            for p in pos + a.kwonlyargs:
                if p.arg == 'trust_remote_code' and not _is_false(defaults.get(p.arg)):
                    flag(n, f"parameter trust_remote_code of {getattr(n, 'name', 'lambda')} must default to False")
        elif isinstance(n, ast.Dict):
            for k, v in zip(n.keys, n.values):
                if isinstance(k, ast.Constant) and k.value == 'trust_remote_code' and _is_true(v): flag(n, "trust_remote_code: True")
        elif isinstance(n, ast.Call):
            q = _qualname(n.func, aliases) or ''
            kw = {k.arg: k.value for k in n.keywords if k.arg}
            if _is_true(kw.get('trust_remote_code')): flag(n, "trust_remote_code=True")
            mod, _, fn = q.rpartition('.')
            if q == 'torch.load' and not _is_true(kw.get('weights_only')):
                flag(n, "torch.load without weights_only=True")
            elif mod in PICKLERS and fn in ('load', 'loads', 'Unpickler'):
                roundtrip = (fn == 'loads' and len(n.args) == 1 and isinstance(n.args[0], ast.Call)
                             and _qualname(n.args[0].func, aliases) == f"{mod}.dumps")
                if not roundtrip: flag(n, f"{q} (unpickling runs arbitrary code)")  # loads(dumps(x)): an in-memory round trip
            elif mod in ('yaml', 'ruamel.yaml') and fn in YAML_UNSAFE:
                flag(n, f"{q} (use yaml.safe_load)")
            elif q in ('eval', 'exec', 'builtins.eval', 'builtins.exec', 'compile', 'builtins.compile'):
                flag(n, f"{q}(...) runs text as code")
    return bad

def _ipython_to_python(code):
    "A notebook cell as Python: magics and shell lines (`%time`, `!pip`) become `pass`."
    return '\n'.join(re.sub(r'^(\s*)[%!].*$', r'\1pass', l) for l in code.split('\n'))

def sources():
    "(label, Python source) of every package module and every notebook code cell."
    for p in MODULES:
        if p.name != '_modidx.py': yield str(p.relative_to(ROOT)), p.read_text()
    for p in sorted((ROOT / 'nbs').rglob('*.ipynb')):
        if '.ipynb_checkpoints' in p.parts: continue
        for i, c in enumerate(json.loads(p.read_text())['cells']):
            if c['cell_type'] == 'code': yield f"{p.relative_to(ROOT)} cell {i} ({c.get('id')})", _ipython_to_python(''.join(c['source']))

def test_scanner_catches_planted_lines():
    "The scan can fail: each planted line is caught, and the safe spellings beside it are not."
    bad = ["import torch\nsd = torch.load('m.pt')", "import torch as th\nsd = th.load(f, weights_only=False)",
           "from torch import load\nsd = load(f)", "import pickle\nx = pickle.load(open('f', 'rb'))",
           "from pickle import loads\nx = loads(b)", "import dill\nx = dill.loads(b)", "import yaml\ncfg = yaml.load(s)",
           "import yaml\ncfg = yaml.load(s, Loader=yaml.Loader)", "y = eval(text)", "exec(code)", "import builtins\nbuiltins.eval(s)",
           "m = AutoModel.from_pretrained(p, trust_remote_code=True)", "kw = {'trust_remote_code': True}",
           "def load(p, trust_remote_code=True): pass", "def load(p, *, trust_remote_code): pass",
           "def load(p, trust_remote_code=None): pass"]
    for code in bad: assert scan(code), f"not caught: {code!r}"
    ok = ["import torch\nsd = torch.load(f, weights_only=True)", "model.eval()", "self.model.eval().to(d)", "x.exec()",
          "import yaml\ncfg = yaml.safe_load(s)", "import pickle\nassert pickle.loads(pickle.dumps(r)) == r",
          "def load(p, trust_remote_code=False): return f(p, trust_remote_code=trust_remote_code)",
          "def load(p, *, trust_remote_code:bool=False): pass", "s = 'torch.load(f) and eval(x)'  # only text",
          "def evaluate(x): return x", "retrieval(x)"]
    for code in ok: assert not scan(code), f"flagged: {code!r}: {scan(code)}"

def test_no_unsafe_loading_in_package_and_notebooks():
    bad, n = [], 0
    for label, code in sources():
        n += 1
        try: found = scan(code)
        except SyntaxError as e: found = [f"cannot be parsed ({e.msg}, line {e.lineno}): the safety scan cannot read it"]
        bad += [f"{label}: {b}" for b in found]
    assert n > 100, f"only {n} sources scanned"
    assert not bad, "unsafe loading or code execution:\n" + '\n'.join(bad)

def test_trust_remote_code_parameters_default_to_false():
    "At run time too (patched methods included): every parameter named trust_remote_code of the package defaults to False."
    found, n = [], 0
    for p in MODULES:
        if p.name.startswith('_'): continue
        mod = importlib.import_module(_modname(p))
        objs = [o for o in vars(mod).values() if getattr(o, '__module__', None) == mod.__name__]
        objs += [m for c in objs if inspect.isclass(c) for m in vars(c).values()]
        for o in objs:
            f = o.__func__ if isinstance(o, (classmethod, staticmethod)) else o
            if not callable(f): continue
            try: sig = inspect.signature(f)
            except (TypeError, ValueError): continue
            n += 1
            if 'trust_remote_code' in sig.parameters:
                found.append((f"{mod.__name__}.{getattr(f, '__qualname__', f)}", sig.parameters['trust_remote_code'].default))
    assert n > 200, f"only {n} signatures inspected"
    assert all(d is False for _, d in found), f"trust_remote_code must default to False: {found}"

def test_shipped_weights_are_loaded_only_through_load_weights():
    "safetensors is read in one place, `gift_nb.model_io.load_weights` (which checks the card's sha256)."
    allowed = {('gift_nb/config.py', 'load_config_classifier')}  # the user's own `classifier.weights` file: no model card to check
    bad = []
    for p in MODULES:
        if p.name in ('_modidx.py', 'model_io.py'): continue
        tree = ast.parse(p.read_text())
        def visit(node, fn, aliases):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)): fn, aliases = node.name, aliases | _aliases(node)
            if isinstance(node, ast.Call) and _qualname(node.func, aliases) in SAFETENSORS_LOADS:
                if (str(p.relative_to(ROOT)), fn) not in allowed: bad.append(f"{p.relative_to(ROOT)}:{node.lineno} in {fn}")
            for c in ast.iter_child_nodes(node): visit(c, fn, aliases)
        visit(tree, '<module>', _aliases(tree))
    assert not bad, "safetensors loaded outside gift_nb.model_io.load_weights (no sha256 check):\n" + '\n'.join(sorted(set(bad)))

# ---------------------------------------------------------------- 2. the sha256 of shipped weights
def test_every_shipped_weights_file_matches_its_card():
    from gift_nb.model_io import read_model_card
    cards = [p for p in WEIGHTS.glob('*.json') if {'weights', 'sha256'} <= set(json.loads(p.read_text()))]
    named = {read_model_card(p)[1].name for p in cards}  # raises on a mismatch
    assert named == {p.name for p in WEIGHTS.glob('*.safetensors')}, "a .safetensors file without a model card"

def _corrupt_copy(tmp_path, card, *intact):
    "Copy card + weights (and `intact` card stems) into tmp_path, flip one byte of the weights; (weights path, expected, actual)."
    from gift_nb.core import file_sha256
    for c in (card, *intact):
        shutil.copy(WEIGHTS / c, tmp_path / c)
        shutil.copy(WEIGHTS / json.loads((WEIGHTS / c).read_text())['weights'], tmp_path)
    w = tmp_path / json.loads((WEIGHTS / card).read_text())['weights']
    b = bytearray(w.read_bytes()); b[len(b) // 2] ^= 0x01; w.write_bytes(b)
    return w, json.loads((WEIGHTS / card).read_text())['sha256'], file_sha256(w)

def _load(what, d):
    if what == 'classifier': from gift_nb.classifier import load_classifier; return load_classifier('red_metal', d, device='cpu')
    if what == 'autoencoder': from gift_nb.autoencoder import load_autoencoder; return load_autoencoder(d)
    if what == 'captioner': from gift_nb.captioning import load_change_reader; return load_change_reader(d)
    if what == 'ltx': from gift_nb.baselines.ltx import load_ltx; return load_ltx('red_metal', weights_dir=d)
    if what == 'texplain_lm': from gift_nb.baselines.texplain import load_lm; return load_lm(weights_dir=d)
    if what == 'translator': from gift_nb.baselines.texplain import load_translator; return load_translator('texplain_red_metal', d)

CASES = {  # loader: (card, step of tools/make_weights.py, cards copied intact)
    'classifier': ('red_metal.json', 'classifier:red_metal', ()),
    'autoencoder': ('autoencoder.card.json', 'autoencoder', ()),
    'captioner': ('captioner.card.json', 'captioner', ()),
    'ltx': ('red_metal.ltx.json', 'ltx:red_metal', ('red_metal.json',)),
    'texplain_lm': ('texplain_lm.json', 'texplain:lm', ()),
    'translator': ('texplain_red_metal.json', 'texplain:red_metal', ()),
}

@pytest.mark.parametrize('what', CASES)
def test_corrupted_weights_fail_with_the_fix(what, tmp_path):
    from gift_nb.model_io import WeightsMismatch
    card, step, intact = CASES[what]
    w, expected, actual = _corrupt_copy(tmp_path, card, *intact)
    assert expected != actual
    with pytest.raises(WeightsMismatch) as e: _load(what, tmp_path)
    msg = str(e.value)
    for part in (str(w), str(tmp_path / card), f"its sha256 {actual[:12]}…", f"({expected[:12]}…)",
                 'rebuild it with `make weights`', f"`python tools/make_weights.py --no-deps {step}`"):
        assert part in msg, f"{part!r} not in:\n{msg}"
    assert '\n' not in msg   # one line
    assert (WEIGHTS / w.name).read_bytes() != w.read_bytes()  # the shipped file is untouched

def test_intact_copy_loads(tmp_path):
    "The same copy, not corrupted, loads: the check compares bytes, not locations."
    from gift_nb.classifier import load_classifier
    for f in ('red_metal.json', 'red_metal.safetensors'): shutil.copy(WEIGHTS / f, tmp_path)
    assert load_classifier('red_metal', tmp_path, device='cpu').card['name'] == 'red_metal'
