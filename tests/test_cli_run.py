"""`gift-nb run CONFIG`: config validation (errors name the key before any heavy work), bad folders, a classifier that
fails on the images, and an offline end-to-end run with tiny random Hugging Face components for the classifier and
every stage (ViT classifier, DDPM diffusion counterfactuals, LLaVA captioner, chat LLM, InstructPix2Pix editor),
loaded from local folders with `from_pretrained`; and the scene-search reference as a stage-1 backend."""
import json, os, sys
from pathlib import Path
import pytest
import torch
from gift_nb.cli import check_config, load_config, load_config_classifier, load_folder, main, run_config
from safetensors.torch import load_file
from gift_nb.core import save_png
from gift_nb.examples import example_config
from gift_nb.world import make_dataset

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = example_config('world').parent   # gift_nb/configs/, shipped with the package


def world_folder(path, n=6):
    path.mkdir(parents=True, exist_ok=True)
    for i, im in enumerate(make_dataset('red_metal', n, 5, 'test')[0]): save_png(path/f'{i:02d}.png', im)
    return path


def write(tmp_path, cfg, name='c.json'):
    p = tmp_path/name; p.write_text(json.dumps(cfg)); return p


def test_example_configs_are_valid(tmp_path):
    check_config(load_config(CONFIGS/'world.yaml'), CONFIGS)
    (tmp_path/'my_images').mkdir()
    (tmp_path/'colab_gpu.yaml').write_text((CONFIGS/'colab_gpu.yaml').read_text())
    cfg = check_config(load_config(tmp_path/'colab_gpu.yaml'), tmp_path)
    assert cfg['captioner']['backend'] == 'vlm' and cfg['intervener']['backend'] == 'instruct-pix2pix'


@pytest.mark.parametrize('change, says', [
    ({'stages': {}}, "stages: unknown key; allowed keys: allow_out_of_domain, base, captioner, chunk, classifier"),
    ({'chunk': 0}, "chunk: expected an integer >= 1, got 0"),
    ({'data': {'kind': 'video'}}, "data.kind: unknown kind 'video'; allowed: world, folder, clevr"),
    ({'data': {'kind': 'world', 'task': 'red_metal', 'size': 3}}, "data.size: unknown key; allowed keys of data: kind, n, seed, split, task"),
    ({'classifier': {'shipped': 'red_metal', 'hf': 'x'}}, "classifier: give exactly one of shipped, import, hf"),
    ({'classifier': {'shipped': 'nope'}}, "classifier.shipped: unknown classifier 'nope'"),
    ({'captioner': {'backend': 'vlm', 'model': 'x', 'temprature': 1}}, "captioner.temprature: unknown key"),
    ({'proposer': {'backend': 'gpt4'}}, "proposer.backend: unknown backend 'gpt4'; allowed: aggregator, llm"),
    ({'verify': {'threshold': 2}}, "verify.threshold: expected a number in (0, 1]"),
    ({'k': 'one'}, "k: expected an integer >= 0"),
])
def test_config_errors_name_the_key(tmp_path, capsys, change, says):
    cfg = {'data': {'kind': 'world', 'task': 'red_metal'}, 'classifier': {'shipped': 'red_metal'}, 'out': str(tmp_path/'out'), **change}
    with pytest.raises(ValueError) as e: check_config(cfg)
    assert says in str(e.value), str(e.value)
    assert main(['run', str(write(tmp_path, cfg))]) == 2   # the console script: status 2, before any work
    assert says in capsys.readouterr().err
    assert not (tmp_path/'out').exists()


def test_world_trained_defaults_refuse_other_data(tmp_path):
    world_folder(tmp_path/'imgs', 2)
    cfg = {'data': {'kind': 'folder', 'path': str(tmp_path/'imgs')}, 'classifier': {'shipped': 'red_metal'},
           'intervener': {'backend': 'instruct-pix2pix', 'model': 'x'}}
    with pytest.raises(ValueError, match='trained on the world.*allow_out_of_domain: true'): check_config(cfg)
    cfg['allow_out_of_domain'] = True
    check_config(cfg)
    cfg['intervener'] = {'backend': 'world'}
    with pytest.raises(ValueError, match="'world' edits world scenes"): check_config(cfg)


def test_bad_folder(tmp_path):
    world_folder(tmp_path/'imgs', 2)
    (tmp_path/'imgs'/'readme.txt').write_text('hello'); (tmp_path/'imgs'/'x.png').write_bytes(b'not a png')
    x, names, skipped = load_folder(tmp_path/'imgs')
    assert x.shape == (2, 3, 64, 64) and names == ['00.png', '01.png'] and len(skipped) == 2
    (tmp_path/'none').mkdir(); (tmp_path/'none'/'a.txt').write_text('a')
    with pytest.raises(ValueError, match=r"no readable image .* \(1 files skipped: a.txt\)"): load_folder(tmp_path/'none')


def failing_classifier():
    "An importable classifier factory whose model cannot take 3-channel 64x64 images."
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(10, 2))


def test_classifier_failing_on_images(tmp_path, capsys):
    world_folder(tmp_path/'imgs', 2)
    cfg = {'data': {'kind': 'folder', 'path': str(tmp_path/'imgs')}, 'classifier': {'import': 'test_cli_run:failing_classifier'},
           'allow_out_of_domain': True, 'intervener': {'backend': 'instruct-pix2pix', 'model': str(tmp_path/'imgs')}, 'out': str(tmp_path/'out')}
    with pytest.raises(ValueError, match=r"the classifier failed on the data's images \(a batch of shape \(2, 3, 64, 64\)"):
        run_config(cfg, echo=lambda s: None)
    assert not (tmp_path/'out').exists()   # found before anything was written
    assert main(['run', str(write(tmp_path, cfg))]) == 2
    assert 'the classifier failed' in capsys.readouterr().err


def test_run_offline_with_tiny_hf_components(tmp_path, tiny_models, monkeypatch):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1'); monkeypatch.setenv('TRANSFORMERS_OFFLINE', '1')
    world_folder(tmp_path/'imgs', 6)
    (tmp_path/'imgs'/'junk.txt').write_text('skip me')
    m = tiny_models
    cfg = {'data': {'kind': 'folder', 'path': 'imgs'}, 'classifier': {'hf': str(m/'vit'), 'local_files_only': True},
           'k': 1, 'out': 'out',
           'counterfactuals': {'backend': 'diffusion', 'model': str(m/'ddpm'), 'local_files_only': True,
                               'num_inference_steps': 4, 'strength': 0.5},
           'captioner': {'backend': 'vlm', 'model': str(m/'vlm'), 'max_new_tokens': 6, 'local_files_only': True},
           'proposer': {'backend': 'llm', 'model': str(m/'chat'), 'max_new_tokens': 16},
           'intervener': {'backend': 'instruct-pix2pix', 'model': str(m/'pix2pix'), 'local_files_only': True,
                          'num_inference_steps': 2, 'resolution': 32},
           'verify': {'split': 0.5, 'n_boot': 50}, 'extra_hypotheses': ['there is a red object']}
    lines = []
    rep = run_config(write(tmp_path, cfg, 'run.json'), echo=lines.append)
    out = tmp_path/'out'
    assert (out/'report.html').is_file() and json.loads((out/'report.json').read_text())['meta']['n_explain'] == 3
    assert rep.meta['data'] == {'kind': 'folder', 'n': 6, 'skipped': 1, 'skipped_files': ['junk.txt']}
    assert any('1 unreadable files skipped' in l for l in lines)
    comps = rep.meta['components']
    assert 'DiffusionCounterfactualExplainer' in comps['counterfactuals']['component']
    assert 'VLMCaptioner' in comps['captions']['component'] and 'LLMProposer' in comps['hypotheses']['component']
    assert 'DiffusionEditIntervener' in comps['verification']['component']
    assert rep.meta['n_verify'] == 3 and rep.meta['verify_on'] == 'split'
    user = [v for h, v in rep.pairs if h.source == 'user']
    assert user and user[0].hypothesis == 'there is a red object'
    assert user[0].n + user[0].n_failed == 3 or user[0].status == 'unverifiable'
    assert not rep.oracle   # folder data: no oracle
    # no world-trained part in this config: it is valid without allow_out_of_domain
    check_config(cfg, tmp_path)   # raises if a world-trained default were refused

def test_run_with_scene_search_reference(tmp_path):
    "The perfect-generator reference runs through the pipeline (it gets the stored world scenes)."
    cfg = {'data': {'kind': 'world', 'task': 'red_metal', 'n': 8}, 'classifier': {'shipped': 'red_metal'}, 'out': str(tmp_path/'o'),
           'counterfactuals': {'backend': 'scene-search'}, 'verify': {'n': 60, 'n_boot': 50}, 'oracle': False}
    rep = run_config(cfg, echo=lambda s: None)
    assert 'SceneSearchExplainer' in rep.meta['components']['counterfactuals']['component']
    assert rep.flip_stats['valid'] >= 6
    cfg = {'data': {'kind': 'folder', 'path': str(world_folder(tmp_path/'imgs', 2))}, 'classifier': {'shipped': 'red_metal'},
           'allow_out_of_domain': True, 'counterfactuals': {'backend': 'scene-search'}, 'intervener': {'backend': 'instruct-pix2pix', 'model': 'x'}}
    with pytest.raises(ValueError, match="scene-search"): check_config(cfg)


def test_paths_resolve_against_the_config_folder(tmp_path, monkeypatch, capsys):
    "A config and what it names travel together: weights, data, import: modules and out are found from its folder, whatever the cwd."
    from safetensors.torch import save_file
    proj = tmp_path/'project'; (proj/'models').mkdir(parents=True)
    (proj/'my_models.py').write_text("import torch\ndef build():\n    torch.manual_seed(0)\n"
                                     "    return torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 2))\n")
    torch.manual_seed(1)
    save_file({'2.weight': torch.randn(2, 3), '2.bias': torch.zeros(2)}, proj/'models'/'m.safetensors')
    world_folder(proj/'imgs', 3)
    (proj/'c.yaml').write_text("data: {kind: folder, path: imgs}\nclassifier: {import: 'my_models:build', weights: models/m.safetensors}\n"
                               "allow_out_of_domain: true\nintervener: {backend: instruct-pix2pix, model: models}\nout: runs/a\n")
    elsewhere = tmp_path/'elsewhere'; elsewhere.mkdir(); monkeypatch.chdir(elsewhere)
    assert 'my_models' not in sys.modules
    assert main(['run', '--check', str(proj/'c.yaml')]) == 0
    out = capsys.readouterr().out
    cfg = json.loads(out[:out.rindex('}') + 1])
    assert (cfg['data']['path'], cfg['out'], cfg['intervener']['model']) == (str(proj/'imgs'), str(proj/'runs'/'a'), str(proj/'models'))
    clf = load_config_classifier(cfg['classifier'], cfg['base'])
    assert torch.equal(clf.model[2].weight.detach().cpu(), load_file(proj/'models'/'m.safetensors')['2.weight'])
    assert str(proj) not in sys.path and not (proj/'runs').exists() and not list(elsewhere.iterdir())   # nothing written by a check
    sys.modules.pop('my_models', None)


def test_check_reports_what_the_run_would_fail_on(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('HF_HUB_OFFLINE', '1'); monkeypatch.chdir(tmp_path)
    (tmp_path/'c.yaml').write_text("data: {kind: world, task: red_metal}\nclassifier: {hf: someorg/not-a-model}\n")
    assert main(['run', '--check', 'c.yaml']) == 2
    cap = capsys.readouterr()
    assert "classifier.hf: 'someorg/not-a-model' is not in the local Hugging Face cache and HF_HUB_OFFLINE is set" in cap.err
    assert 'check: 1 problem found' in cap.out
    assert not (tmp_path/'gift_nb_runs').exists()
