"""The bad-input matrix: every kind of bad input we know of, from the Python API, the `gift-nb` command line and configs,
with the error it must give. `tests/test_bad_input.py` runs each case; `tools/bad_input_table.py` writes the table of
cases and their actual messages to `nbs/results/bad_input.md`.

A case sets its input up in a fresh folder and returns what to run: a function (the Python API: it must raise one
exception whose message is one line and says what to do) or the `gift-nb` arguments (the CLI: exit status 2 and one
line `gift-nb CMD: error: ...`; a usage line may precede it for a malformed command line). Either way nothing new may
be written in the folder."""
import json, shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Case:
    id: str          # short name, the test id
    surface: str     # 'python' | 'cli' | 'config'
    what: str        # the bad input, in words (the table's first column)
    expect: str      # a regex the message must match (what is wrong and what to do)
    setup: Callable  # setup(folder) -> a function to call (python) or the gift-nb arguments (cli, config)
    error: str = ''  # python: the exception's class name (or a base class of it)
    code: int = 2    # cli/config: the exit status


CASES: list = []

def case(id, surface, what, expect, error='', code=2):
    def deco(f):
        CASES.append(Case(id, surface, what, expect, f, error, code)); return f
    return deco


# ---------------------------------------------------------------- helpers
_DATA = {}
def world(n=4):
    "Rendered world test images (cached per n)."
    if n not in _DATA:
        from gift_nb.world import make_dataset
        _DATA[n] = make_dataset('red_metal', n, 0, 'test')
    return _DATA[n]

def gift(**kw):
    from gift_nb.pipeline import GIFT
    return GIFT(kw.pop('classifier', 'red_metal'), n_verify=20, oracle=False, **kw)

def run_with(d, data, **kw):
    "GIFT.run on `data` into d/'run' (what the API cases call)."
    extra = kw.pop('extra_hypotheses', ())
    return lambda: gift(**kw).run(data, d/'run', extra_hypotheses=extra)

BASE = {'data': {'kind': 'world', 'task': 'red_metal', 'n': 4}, 'classifier': {'shipped': 'red_metal'},
        'verify': {'n': 20}, 'oracle': False, 'out': 'out'}

def config(d, text=None, name='c.yaml', **over):
    "Write a config (BASE with top-level keys replaced, or a raw text) into `d`; the `gift-nb run` arguments."
    p = d/name
    if text is not None: p.write_text(text)
    else:
        import yaml
        cfg = {**BASE, **over}
        p.write_text(yaml.safe_dump({k: v for k, v in cfg.items() if v is not None}))
    return ['run', str(p)]

def shipped_copy(d):
    "A copy of the shipped red_metal classifier's card and weights in `d`; returns the card's path."
    from gift_nb.classifier import WEIGHTS_DIR
    card = WEIGHTS_DIR/'red_metal.json'
    c = json.loads(card.read_text())
    shutil.copy(card, d/card.name); shutil.copy(WEIGHTS_DIR/c['weights'], d/c['weights'])
    return d/card.name, d/c['weights']

def two_logits(x): return x[:, :2, 0, 0] * 4 - 2   # a function classifier: logits [N, 2]


# ---------------------------------------------------------------- images (Python API)
@case('uint8', 'python', 'images as uint8 (0-255)', r'float in \[0,1\].*divide by 255', 'TypeError')
def _(d): x = world()[0]; return run_with(d, (x * 255).to(torch.uint8))

@case('range', 'python', 'float images in [0, 255]', r'must be in \[0,1\], got values in .*preprocess', 'ValueError')
def _(d): return run_with(d, world()[0] * 255)

@case('channels-last', 'python', 'images [N, H, W, 3] (channels last)', r'channels last\? use images.permute\(0,3,1,2\)', 'ValueError')
def _(d): return run_with(d, world()[0].permute(0, 2, 3, 1).contiguous())

@case('one-image', 'python', 'one image [3, H, W] instead of a batch', r'got one image .*use images\[None\]', 'ValueError')
def _(d): return run_with(d, world()[0][0])

@case('grayscale', 'python', 'grayscale images [N, 1, H, W]', r'must have 3 channels in dim 1 .*grayscale\? repeat the channel', 'ValueError')
def _(d): return run_with(d, world()[0][:, :1])

@case('nan', 'python', 'images with NaN', r'contain NaN or inf values \(images \[0\]\): drop or repair those images', 'ValueError')
def _(d): x = world()[0].clone(); x[0, 0, 0, 0] = float('nan'); return run_with(d, x)

@case('empty', 'python', 'an empty batch [0, 3, H, W]', r'no images \(an empty batch\): give at least one image', 'ValueError')
def _(d): return run_with(d, world()[0][:0])

@case('list', 'python', 'a Python list of images', r'cannot use a list as base images: pass images \[N,3,H,W\]', 'TypeError')
def _(d): return run_with(d, list(world()[0]))

# ---------------------------------------------------------------- classifiers (Python API)
@case('clf-int', 'python', 'a classifier that is not one (an int)', r'cannot use an int .* as a classifier: pass a Classifier', 'TypeError')
def _(d): return lambda: gift(classifier=42)

@case('clf-name', 'python', 'an unknown shipped classifier name', r"no classifier 'red_cube'.*shipped ones are", 'FileNotFoundError')
def _(d): return lambda: gift(classifier='red_cube')

@case('clf-fails', 'python', 'a classifier that raises on the images', r"the classifier failed on the data's images \(a batch of shape", 'ValueError')
def _(d): return run_with(d, world()[0], classifier=lambda x: x.view(3))

@case('clf-shape', 'python', 'a classifier returning [N, 2, 2]', r'output has shape \(2, 2, 2\) for 2 images, not logits \[N=2, C\]', 'ValueError')
def _(d): return run_with(d, world()[0], classifier=lambda x: x[:, :2, :2, 0])

@case('clf-probs', 'python', "probabilities that do not say so", r"rows that are probabilities .*wrap it as as_classifier\(fn, output='probs'\)", 'ValueError')
def _(d): return run_with(d, world()[0], classifier=lambda x: torch.full((len(x), 2), 0.5))

@case('clf-not-probs', 'python', "output='probs' on logits", r"declared output='probs' but .* if it returns logits, leave output='logits'", 'ValueError')
def _(d):
    from gift_nb.classifier import as_classifier
    return run_with(d, world()[0], classifier=as_classifier(two_logits, output='probs'))

@case('k-range', 'python', 'k that is not a class of the classifier', r'k=5 is not a class of this classifier \(.*2 classes: 0..1\)', 'ValueError')
def _(d): return run_with(d, world()[0], k=5)

@case('user-hyp', 'python', 'a user hypothesis that is not a world rule (world intervener)', r"'a purple elephant' is not a world rule.*write it as one", 'ValueError')
def _(d): return run_with(d, world(), extra_hypotheses=['a purple elephant'])

@case('verify-split', 'python', 'verify_split outside (0, 1)', r'verify_split must be a fraction in \(0, 1\) or None, got 1.5', 'ValueError')
def _(d): return lambda: gift(verify_split=1.5)

# ---------------------------------------------------------------- weights and model cards (Python API)
def damaged_card(d, damage):
    "Copy the shipped red_metal card and weights into `d`, `damage(card, weights)` them; loading the card is the call."
    from gift_nb.classifier import load_classifier
    card, w = shipped_copy(d); damage(card, w)
    return lambda: load_classifier(str(card))

def _flip_last_byte(w): b = bytearray(w.read_bytes()); b[-1] ^= 1; w.write_bytes(bytes(b))

@case('card-sha', 'python', 'weights whose sha256 differs from the model card', r'is corrupted or out of date: its sha256 .* does not match the model card .*make weights', 'WeightsMismatch')
def _(d): return damaged_card(d, lambda card, w: _flip_last_byte(w))

@case('card-json', 'python', 'a model card that is not JSON', r'model card .* is not valid JSON .*make weights', 'WeightsMismatch')
def _(d): return damaged_card(d, lambda card, w: card.write_text('{"weights": '))

@case('card-weights', 'python', 'a model card whose weights file is missing', r'\(named by .*\) is missing: rebuild it with `make weights`', 'FileNotFoundError')
def _(d): return damaged_card(d, lambda card, w: w.unlink())

@case('card-keys', 'python', 'a file that is not a model card', r"lacks 'weights' and 'sha256' \(not a gift_nb model card\)", 'WeightsMismatch')
def _(d): return damaged_card(d, lambda card, w: card.write_text('{"name": "mine"}'))

@case('hf-folder', 'python', 'a Hugging Face model folder that does not exist', r'the folder .*no_such_model does not exist; pass the folder of a saved model .* or a Hugging Face hub id', 'ModelUnavailable')
def _(d):
    from gift_nb.classifier import from_pretrained
    return lambda: from_pretrained(str(d/'no_such_model'))

@case('hf-id', 'python', 'a hub id not in the local cache (offline)', r"'someorg/not-a-model' is not in the local Hugging Face cache .*huggingface-cli download", 'ModelUnavailable')
def _(d):
    from gift_nb.classifier import from_pretrained
    return lambda: from_pretrained('someorg/not-a-model')

# ---------------------------------------------------------------- run directories (Python API)
@case('run-foreign', 'python', 'a run directory holding other files', r'is not empty \(notes.txt\) and holds no run .*pass a new or empty folder', 'FileExistsError')
def _(d):
    (d/'run').mkdir(); (d/'run'/'notes.txt').write_text('mine')
    return run_with(d, world())

@case('run-version', 'python', 'a run directory from another gift_nb version', r'holds a run of manifest format 0, written by another gift_nb version .*pass a new folder, or delete', 'ValueError')
def _(d):
    (d/'run').mkdir(); (d/'run'/'manifest.json').write_text(json.dumps({'format': 0, 'seed': 0}))
    return run_with(d, world())

@case('run-manifest', 'python', 'a damaged manifest.json', r'manifest.json is not valid JSON .*delete it to start over', 'ValueError')
def _(d):
    (d/'run').mkdir(); (d/'run'/'manifest.json').write_text('{"format": 1, "se')
    return run_with(d, world())

@case('run-file', 'python', 'a run directory that is a file', r'is a file, not a folder; pass a folder', 'NotADirectoryError')
def _(d): (d/'run').write_text(''); return run_with(d, world())

@case('run-readonly', 'python', 'a run directory on a read-only file system', r'run directory /sys is not writable .*pass a writable folder', 'PermissionError')
def _(d):
    from gift_nb.core import RunDir
    return lambda: RunDir('/sys')

@case('jsonl', 'python', "a damaged line inside a stage's JSON-lines file", r'line 2: not valid JSON .*delete this line or the file to recompute', 'ValueError')
def _(d):
    from gift_nb.core import RunDir
    run = RunDir(d/'run'); st = run.stage('captions', {'x': 1})
    st.append({'id': 'a'}); st.append({'id': 'b'})
    (d/'run'/'captions.jsonl').write_text('{"id": "a"}\n{"id": "b\n{"id": "c"}\n')
    return lambda: RunDir(d/'run').stage('captions', {'x': 1})

# ---------------------------------------------------------------- the demo's command line
@case('demo-task', 'cli', '`gift-nb demo --task red_cube`', r"invalid choice: 'red_cube'")
def _(d): return ['demo', '--task', 'red_cube']

@case('demo-n', 'cli', '`gift-nb demo --n 2`', r'--n must be an integer from 4 to 10000, got 2')
def _(d): return ['demo', '--n', '2', '--out', str(d/'out')]

@case('demo-seed', 'cli', '`gift-nb demo --seed -1`', r'--seed must be a non-negative integer, got -1')
def _(d): return ['demo', '--seed', '-1', '--out', str(d/'out')]

@case('demo-hyp', 'cli', '`gift-nb demo --hypothesis "a purple elephant"`', r"is not a world rule .*write e.g. 'there is a large gray cylinder'")
def _(d): return ['demo', '--hypothesis', 'a purple elephant', '--out', str(d/'out')]

@case('demo-out', 'cli', '`gift-nb demo --out` on a read-only file system', r"--out '/sys/gift_nb' is not a writable folder .*pass a folder you can write to")
def _(d): return ['demo', '--out', '/sys/gift_nb']

@case('bench-tasks', 'cli', '`gift-nb bench --tasks ,`', r'--tasks is empty: give comma-separated task names')
def _(d): return ['bench', '--tasks', ',', '--out', str(d/'out')]

# ---------------------------------------------------------------- config files
@case('cfg-missing', 'config', 'a config file that does not exist', r"config '.*nope.yaml' does not exist")
def _(d): return ['run', str(d/'nope.yaml')]

@case('cfg-yaml', 'config', 'a config that is not valid YAML', r'not valid YAML')
def _(d): return config(d, 'data: [1, 2\nk: 1\n')

@case('cfg-json', 'config', 'a .json config that is not valid JSON', r'not valid JSON')
def _(d): return config(d, '{"data": ', name='c.json')

@case('cfg-list', 'config', 'a config that is a list, not a mapping', r'expected a mapping of keys \(data, classifier, ...\), got list')
def _(d): return config(d, '- data\n- k\n')

@case('cfg-key', 'config', 'an unknown top-level key (a typo)', r'captoner: unknown key; allowed keys: allow_out_of_domain, base, captioner')
def _(d): return config(d, captoner={'backend': 'vlm'})

@case('cfg-data', 'config', 'no data section', r"data: missing; a mapping with 'kind'")
def _(d): return config(d, data=None)

@case('cfg-kind', 'config', 'an unknown data.kind', r"data.kind: unknown kind 'images'; allowed: world, folder, clevr")
def _(d): return config(d, data={'kind': 'images'})

@case('cfg-task', 'config', 'an unknown data.task', r"data.task: unknown task 'red_cube'; allowed: red_metal")
def _(d): return config(d, data={'kind': 'world', 'task': 'red_cube'})

@case('cfg-n-type', 'config', 'data.n of the wrong type (a text)', r"data.n: expected an integer >= 2, got 'ten'")
def _(d): return config(d, data={'kind': 'world', 'task': 'red_metal', 'n': 'ten'})

@case('cfg-n-bool', 'config', 'data.n given as true', r'data.n: expected an integer >= 2, got True')
def _(d): return config(d, data={'kind': 'world', 'task': 'red_metal', 'n': True})

@case('cfg-folder', 'config', 'data.path that is not a folder (relative to the config)', r"data.path: '.*/photos' is not a folder")
def _(d): return config(d, data={'kind': 'folder', 'path': 'photos'}, allow_out_of_domain=True, intervener={'backend': 'instruct-pix2pix', 'model': '.'})

@case('cfg-no-images', 'config', 'a data folder with no readable image', r"data.path: no readable image in '.*photos' \(2 files skipped")
def _(d):
    (d/'photos').mkdir(); (d/'photos'/'a.txt').write_text('x'); (d/'photos'/'b.png').write_bytes(b'\x89PNG broken')
    return config(d, data={'kind': 'folder', 'path': 'photos'}, classifier={'import': 'bad_input_cases:function_classifier'},
                  allow_out_of_domain=True, intervener={'backend': 'instruct-pix2pix', 'model': '.'})

@case('cfg-clf-none', 'config', 'a classifier section naming no model', r'classifier: give exactly one of shipped, import, hf \(got none\)')
def _(d): return config(d, classifier={'output': 'logits'})

@case('cfg-clf-two', 'config', 'a classifier section naming two models', r"classifier: give exactly one of shipped, import, hf \(got \['shipped', 'hf'\]\)")
def _(d): return config(d, classifier={'shipped': 'red_metal', 'hf': 'google/vit-base-patch16-224'})

@case('cfg-import-form', 'config', "classifier.import without ':'", r"classifier.import: expected 'package.module:callable', got 'my_models'")
def _(d): return config(d, classifier={'import': 'my_models'})

@case('cfg-import', 'config', 'classifier.import that does not import', r"classifier.import: cannot import 'no_such_module:build' .*looked up in the config's folder")
def _(d): return config(d, classifier={'import': 'no_such_module:build'})

@case('cfg-weights-missing', 'config', 'classifier.weights that does not exist', r"classifier.weights: '.*no_such.safetensors' does not exist \(relative paths are relative to the config's folder\)")
def _(d): return config(d, classifier={'import': 'bad_input_cases:function_classifier', 'weights': 'bad/no_such.safetensors'})

@case('cfg-weights-suffix', 'config', 'classifier.weights that is not .safetensors (a pickle)', r"is not a .safetensors file; save the weights with safetensors")
def _(d): (d/'model.pt').write_bytes(b'x'); return config(d, classifier={'import': 'bad_input_cases:function_classifier', 'weights': 'model.pt'})

@case('cfg-weights-corrupt', 'config', 'classifier.weights that is not a safetensors file inside', r"classifier.weights: '.*model.safetensors' is not a readable safetensors file")
def _(d):
    (d/'model.safetensors').write_bytes(b'not safetensors at all')
    return config(d, classifier={'import': 'bad_input_cases:tiny_net', 'weights': 'model.safetensors'})

@case('cfg-weights-mismatch', 'config', "classifier.weights of another model", r"classifier.weights: '.*model.safetensors' does not fit the model bad_input_cases:tiny_net builds")
def _(d):
    from safetensors.torch import save_file
    save_file({'w': torch.zeros(3)}, d/'model.safetensors')
    return config(d, classifier={'import': 'bad_input_cases:tiny_net', 'weights': 'model.safetensors'})

@case('cfg-hf-folder', 'config', 'classifier.hf: a folder that does not exist', r"classifier.hf: the folder '.*models/vit' does not exist \(relative paths are relative to the config's folder\)")
def _(d): return config(d, classifier={'hf': './models/vit'})

@case('cfg-hf-id', 'config', 'classifier.hf: a hub id not cached, offline', r"classifier.hf: 'someorg/not-a-model' is not in the local Hugging Face cache and HF_HUB_OFFLINE is set")
def _(d): return config(d, classifier={'hf': 'someorg/not-a-model'})

@case('cfg-k', 'config', 'k negative', r'k: expected an integer >= 0, got -1')
def _(d): return config(d, k=-1)

@case('cfg-k-class', 'config', 'k that is not a class of the classifier', r'k=5 is not a class of this classifier')
def _(d): return config(d, k=5)

@case('cfg-seed', 'config', 'seed of the wrong type', r"seed: expected an integer >= 0, got '0'")
def _(d): return config(d, seed='0')

@case('cfg-out-ro', 'config', 'out on a read-only file system', r"out: '/sys/gift_nb' is not writable .*set out: \(or --out\) to a folder you can write to")
def _(d): return config(d, out='/sys/gift_nb')

@case('cfg-out-file', 'config', 'out below a file', r"out: '.*notes.txt/run' cannot be created: '.*notes.txt' is a file")
def _(d): (d/'notes.txt').write_text('x'); return config(d, out='notes.txt/run')

@case('cfg-out-foreign', 'config', 'out/run: a folder of other files', r'out/run. is not empty and holds no run .*set out: \(or --out\) to a new folder')
def _(d): (d/'out'/'run').mkdir(parents=True); (d/'out'/'run'/'mine.txt').write_text('x'); return config(d)

@case('cfg-threshold', 'config', 'verify.threshold outside (0, 1]', r'verify.threshold: expected a number in \(0, 1\], got 2')
def _(d): return config(d, verify={'threshold': 2})

@case('cfg-verify-n', 'config', 'verify.n zero', r'verify.n: expected an integer >= 1, got 0')
def _(d): return config(d, verify={'n': 0})

@case('cfg-backend', 'config', 'an unknown backend', r"captioner.backend: unknown backend 'gpt'; allowed: change-captioner, vlm")
def _(d): return config(d, captioner={'backend': 'gpt'})

@case('cfg-option', 'config', 'an unknown backend option (a typo)', r'counterfactuals.stpes: unknown key; allowed keys of counterfactuals:')
def _(d): return config(d, counterfactuals={'backend': 'latent-ae', 'stpes': 80})

@case('cfg-option-type', 'config', 'a backend option of the wrong type', r"counterfactuals.steps: expected an integer, got 'many'")
def _(d): return config(d, counterfactuals={'backend': 'latent-ae', 'steps': 'many'})

@case('cfg-model', 'config', 'a model: folder that does not exist', r"counterfactuals.model: the folder '.*ddpm' does not exist")
def _(d): return config(d, counterfactuals={'backend': 'diffusion', 'model': './models/ddpm'})

@case('cfg-ood', 'config', 'world-trained backends on photos', r'the shipped classifiers were trained on the world .*set allow_out_of_domain: true')
def _(d): (d/'photos').mkdir(); return config(d, data={'kind': 'folder', 'path': 'photos'})

@case('cfg-scenes', 'config', 'the world intervener on data without scenes', r"intervener.backend: 'world' edits world scenes, but data.kind 'folder' has none")
def _(d): (d/'photos').mkdir(); return config(d, data={'kind': 'folder', 'path': 'photos'}, allow_out_of_domain=True)

@case('cfg-extra', 'config', 'extra_hypotheses that is not a list', r"extra_hypotheses: expected a list of texts, got 'there is a red cube'")
def _(d): return config(d, extra_hypotheses='there is a red cube')

@case('cfg-extra-rule', 'config', 'an extra hypothesis that is not a world rule', r"'a purple elephant' is not a world rule")
def _(d): return config(d, extra_hypotheses=['a purple elephant'])

@case('cfg-oracle', 'config', 'oracle that is not true/false', r"oracle: expected true or false, got 'yes'")
def _(d): return config(d, oracle='yes')


def function_classifier():
    "What `classifier.import` calls: it returns the classifier (here a function images -> logits)."
    return two_logits


def tiny_net():
    "A small torch model whose state dict the weights cases do not fit."
    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 2))
