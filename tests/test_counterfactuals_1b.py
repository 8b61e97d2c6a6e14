"Tests of stage 1b (gift_nb.counterfactuals): the diffusion backend on a tiny random UNet, the scene-search reference, the viewer."
import warnings
import numpy as np
import pytest
import torch
from gift_nb.core import Caption, Counterfactual, quantize
from gift_nb.classifier import load_classifier
from gift_nb.world import TASKS, Obj, Scene, make_dataset, render
from gift_nb.counterfactuals import CounterfactualViewer
from gift_nb.diffusion import DiffusionCounterfactualExplainer
from gift_nb.cf_quality import SceneSearchExplainer, cf_metrics, scene_edits
from gift_nb.testing import tiny_unet

diffusers = pytest.importorskip('diffusers')
diffusers.utils.logging.disable_progress_bar()


@pytest.fixture(scope='module')
def world():
    clf = load_classifier('red_metal', device='cpu')
    x, _, scenes = make_dataset(clf.task, 6, seed=21, split='test')
    return clf, x, scenes

def ddim():
    from diffusers import DDIMScheduler
    return DDIMScheduler(clip_sample=True, set_alpha_to_one=True)

# --- diffusion backend ---------------------------------------------------------------------------------------------

def test_diffusion_contract_and_seeding(world):
    clf, x, _ = world
    unet = tiny_unet()
    mk = lambda seed, **kw: DiffusionCounterfactualExplainer(clf, unet, ddim(), strength=0.5, num_inference_steps=8, seed=seed, batch_size=4, **kw)
    a = mk(0); ra = a(x)
    assert a.images.shape == x.shape and torch.equal(a.images, quantize(a.images))
    assert len(ra) == len(x) and all(r.method == 'diffusion' and r.source == i == r.image for i, r in enumerate(ra))
    pa = clf(a.images)
    for i, r in enumerate(ra):
        assert r.target == 1 - r.pred_before and r.pred_after == int(pa[i].argmax())
        assert r.valid == ((r.pred_before == 1) != (r.pred_after == 1))
    im = a.images.clone()
    a(x); assert torch.equal(a.images, im)                      # same seed (same call twice): same images
    b = mk(0); b(x); assert torch.equal(b.images, im)           # a fresh explainer with the same seed
    c = mk(1); c(x); assert not torch.equal(c.images, im)       # another seed
    assert a.stats['n'] == len(x) and 0 <= a.stats['flip_rate'] <= 1

def test_diffusion_guidance_moves_toward_target(world):
    clf, x, _ = world
    unet = tiny_unet()
    p = {}
    for g in (0., 0.1):
        ex = DiffusionCounterfactualExplainer(clf, unet, ddim(), strength=0.5, num_inference_steps=8, guidance_scale=g, seed=0)
        p[g] = np.mean([r.probs_after[r.target] for r in ex(x)])
    assert p[0.1] > p[0.] + 0.2, p

def test_diffusion_callback_and_ddpm_schedulers(world):
    from diffusers import DDPMScheduler
    clf, x, _ = world
    seen = []
    def cb(i, t, state):
        seen.append((i, t, tuple(state['sample'].shape), tuple(state['p_target'].shape)))
        return dict(sample=state['sample'])
    for pt in ('epsilon', 'v_prediction', 'sample'):
        seen.clear()
        ex = DiffusionCounterfactualExplainer(clf, tiny_unet(), DDPMScheduler(prediction_type=pt), strength=0.3, num_inference_steps=10, batch_size=2)
        recs = ex(x[:3], callback_on_step_end=cb)
        assert len(recs) == 3 and ex.images.shape == (3, 3, 64, 64)
        assert len(seen) == 3 * 2 and seen[0][2] == (2, 3, 64, 64) and seen[-1][2] == (1, 3, 64, 64)  # 3 steps × 2 batches
        assert [s[0] for s in seen[:3]] == [0, 1, 2] and seen[0][1] > seen[1][1]

def test_diffusion_pipeline_from_local_folder(world, tmp_path):
    from diffusers import DDPMPipeline, DDPMScheduler
    clf, x, _ = world
    DDPMPipeline(unet=tiny_unet(), scheduler=DDPMScheduler()).save_pretrained(tmp_path)
    ex = DiffusionCounterfactualExplainer(clf, str(tmp_path), strength=0.5, num_inference_steps=4, local_files_only=True)
    assert type(ex.scheduler).__name__ == 'DDPMScheduler' and len(ex(x[:2])) == 2
    pipe = DDPMPipeline(unet=tiny_unet(), scheduler=DDPMScheduler())
    ex2 = DiffusionCounterfactualExplainer(clf, pipe, strength=0.5, num_inference_steps=4)
    assert ex2.scheduler is not pipe.scheduler  # copied: set_timesteps never changes the user's scheduler

def test_diffusion_bad_input(world):
    clf, x, _ = world
    unet = tiny_unet(32)
    ex = DiffusionCounterfactualExplainer(clf, unet, ddim(), strength=0.5, num_inference_steps=4)
    with pytest.warns(UserWarning, match='resized'): ex(x[:2])
    assert ex.images.shape == (2, 3, 64, 64)  # back at the input size: the classifier and later stages compare with x
    class NoSteps:
        alphas_cumprod = torch.ones(3)
        def add_noise(self, *a): pass
    with pytest.raises(TypeError, match='NoSteps lacks set_timesteps, step'): DiffusionCounterfactualExplainer(clf, unet, NoSteps())
    class NoAlphas:
        def set_timesteps(self, n): pass
        def step(self, *a, **k): pass
        def add_noise(self, *a): pass
    with pytest.raises(TypeError, match='alphas_cumprod'): DiffusionCounterfactualExplainer(clf, unet, NoAlphas())
    with pytest.raises(ValueError, match='no scheduler'): DiffusionCounterfactualExplainer(clf, unet)
    with pytest.raises(ValueError, match='in_channels=3'): DiffusionCounterfactualExplainer(clf, torch.nn.Conv2d(3, 3, 1), ddim())
    with pytest.raises(TypeError, match='UNet2DModel'): DiffusionCounterfactualExplainer(clf, 42, ddim())
    with pytest.raises(ValueError, match='strength'): DiffusionCounterfactualExplainer(clf, unet, ddim(), strength=1.5)
    with pytest.raises(ValueError, match='runs no step'): DiffusionCounterfactualExplainer(clf, tiny_unet(), ddim(), strength=0.01, num_inference_steps=10)(x[:1])
    with pytest.raises(ValueError, match='NaN or inf'): ex(torch.full((1, 3, 32, 32), float('nan')))
    with pytest.raises(ValueError, match='target'), warnings.catch_warnings():
        warnings.simplefilter('ignore'); ex(x[:2], target=[0, 1, 1])
    assert ex(torch.zeros(0, 3, 32, 32)) == []

# --- scene search ----------------------------------------------------------------------------------------------------

def test_scene_edits_cost_order():
    s = Scene((Obj('cube', 'red', 'large', 'metal', x=0., y=0.), Obj('sphere', 'gray', 'small', 'rubber', x=1.5, y=1.5)))
    ed = scene_edits(s)
    assert {c for c, _, _ in ed} == {1., 2., 2.5}
    assert sum(c == 1 for c, _, _ in ed) == 2 * 11 and sum(c == 2 for c, _, _ in ed) == 2 * 33
    adds = [e for c, _, e in ed if e.ops[0][0] == 'add']
    assert len(adds) % 96 == 0 and len(adds) > 0
    assert all(len(sc.objects) == 3 for c, sc, e in ed if e.ops[0][0] == 'add')
    assert len(scene_edits(s, add_grid=0)) == 2 * (11 + 33 + 1)

def test_scene_search_semantic_and_cheapest(world):
    clf, x, scenes = world
    ss = SceneSearchExplainer(clf)
    recs = ss(x, scenes)
    assert len(recs) == len(x) and all(r.method == 'scene-search' for r in recs)
    for i, r in enumerate(recs):
        assert r.valid == r.meta['found']
        assert torch.equal(ss.images[i], quantize(render([ss.scenes[i]])[0]))  # the render of the named edit
        assert Scene.from_clevr(r.meta['scene']).key() == ss.scenes[i].key()
    m = cf_metrics(recs, x, ss.images, scenes, clf.task.rule)
    assert m['all']['validity'] == 1 and m['all']['semantic'] == 1   # red_metal follows its rule
    # the cost is the cheapest that flips: no cheaper edit of the scene flips the classifier
    for i in range(2):
        cheaper = [sc for c, sc, _ in scene_edits(scenes[i]) if c < recs[i].meta['cost']]
        if cheaper:
            p = clf(render(cheaper)).argmax(1)
            assert ((p == 1) == (recs[i].pred_before == 1)).all()
    assert ss.stats['renders'] > 0 and ss.stats['flip_rate'] == 1

def test_scene_search_adds_an_object_when_nothing_cheaper_flips():
    clf = load_classifier('two_spheres', device='cpu')
    scenes = [Scene((Obj('sphere', 'red', 'large', 'rubber', x=0., y=0.),))]  # one sphere: 'two spheres' needs a second one
    ss = SceneSearchExplainer(clf, show_progress=False)
    r, = ss(None, scenes)
    assert r.valid and r.direction == '0->1' and r.meta['cost'] == 2.5 and 'sphere was added' in r.meta['edit']
    m = cf_metrics([r], render(scenes), ss.images, scenes, clf.task.rule)
    assert m['rows'][0]['edit'] == r.meta['edit'] and m['rows'][0]['semantic']  # the projection finds the same addition

def test_scene_search_bad_input_and_targets(world):
    clf, x, scenes = world
    ss = SceneSearchExplainer(clf, add_grid=0)
    with pytest.raises(ValueError, match='one scene per image'): ss(x, scenes[:2])
    with pytest.raises(TypeError, match='Scene'): ss(x, [None] * len(x))
    assert ss(None, scenes[:2])[0].source == 0  # images rendered from the scenes
    recs = ss(x[:2], scenes[:2], target=1)
    assert [r.target for r in recs] == [1, 1]
    assert all(r.valid == (r.pred_after == 1) for r in recs if r.pred_before == 0)
    assert ss(x[:0], []) == []
    with pytest.raises(ValueError, match='target has 3 entries'): ss(x[:2], scenes[:2], target=[0, 1, 1])
    with pytest.raises(ValueError, match='must lie in 0..1'): ss(x[:2], scenes[:2], target=2)  # the same checks as the other explainers

# --- viewer ----------------------------------------------------------------------------------------------------------

def _records(n=6):
    recs, xs, xc = [], torch.rand(n, 3, 16, 16), torch.rand(n, 3, 16, 16)
    for i in range(n):
        b = i % 2; valid = i % 3 != 0
        a = (1 - b) if valid else b
        recs.append(Counterfactual(id=f"cf-{i}", source=i, image=i, k=1, probs_before=[0.8, 0.2] if b == 0 else [0.1, 0.9],
                                   probs_after=[0.3, 0.7] if a == 1 else [0.9, 0.1], pred_before=b, pred_after=a, target=1 - b,
                                   direction='1->0' if b == 1 else '0->1', valid=valid))
    return recs, xs, xc

def test_viewer_widgets_drive_state():
    recs, xs, xc = _records()
    v = CounterfactualViewer(recs, xs, xc, notes=[f"note {i}" for i in range(6)], captions=[f"cap {i}" for i in range(6)],
                             class_names=['no', 'yes'])
    assert v.index == 0 and v.current()['caption'] == 'cap 0' and v.current()['note'] == 'note 0'
    root = v.widget(); assert v.widget() is root
    w = v._w
    w['slider'].value = 3; assert v.index == 3 and v.current()['record'].id == 'cf-3'
    assert bytes(w['imgs'][0].value).startswith(b'\x89PNG') and bytes(w['probs'].value).startswith(b'\x89PNG')
    assert 'cf-3' in w['text'].value and 'cap 3' in w['caption'].value
    w['direction'].value = '1->0'
    assert v.direction == '1->0' and v.index == 0 and v.items == [1, 3, 5] and w['slider'].max == 2
    w['validity'].value = 'valid'
    assert v.validity == 'valid' and v.items == [1, 5] and v.filter == '1->0 valid'
    w['next'].click(); assert v.index == 1 and w['slider'].value == 1 and v.current()['record'].id == 'cf-5'
    w['next'].click(); assert v.index == 0                          # wraps around
    w['validity'].value = 'invalid'; w['direction'].value = 'all'
    assert v.items == [0, 3]
    v.set_filter(direction='0->1', validity='invalid'); assert v.items == [0] and w['direction'].value == '0->1'
    v.set_filter('1->0'); assert v.items == [3]                       # keeps the validity filter
    v.set_filter('all'); assert v.items == list(range(6))
    with pytest.raises(ValueError, match='filter must be'): v.set_filter('blue')
    with pytest.raises(ValueError, match='direction'): v.set_filter(direction='sideways')

def test_viewer_captions_and_empty_filter():
    recs, xs, xc = _records(3)
    v = CounterfactualViewer(recs, xs, xc)
    assert v.current()['caption'] == ''
    v.attach_captions({'cf-1': 'the red cube became blue'}); v.go(1)
    assert v.current()['caption'] == 'the red cube became blue'
    v.attach_captions([Caption(id='cap-cf-2', pair='cf-2', text='a sphere was added', model_id='m', direction='0->1')])
    v.go(2); assert v.current()['caption'] == 'a sphere was added'
    with pytest.raises(ValueError, match='one per record'): v.attach_captions(['a'])
    with pytest.raises(ValueError, match='notes'): CounterfactualViewer(recs, xs, xc, notes=['a'])
    v.widget()
    v.set_filter(direction='1->0', validity='invalid')   # no such record
    assert v.items == [] and v.current() is None and 'nothing to show' in v._w['text'].value
    assert callable(getattr(v, '_ipython_display_'))
