"""One classifier contract at every entry: each form `as_classifier` accepts (a `Classifier`, a function returning logits,
a function returning probabilities declared with `output='probs'`, a bare `nn.Module`, a transformers image classifier)
runs through GIFT.run, every stage-1 explainer (latent search, the diffusion backend on a tiny random UNet, the
scene-search reference), verify, oracle_effects, Craft, LTX and TExplain and gives what the same model wrapped as a
`Classifier` gives; a classifier that breaks the contract fails before anything is written."""
import math, re
import pytest
import torch
from torch import nn
from gift_nb.classifier import Classifier, as_classifier, check_classifier, image_preprocess
from gift_nb.testing import TinyCNN, tiny_unet, tiny_vit_classifier
from gift_nb.world import concept, exists, make_dataset

pytestmark = pytest.mark.filterwarnings('ignore:as_classifier. no preprocess given')

FORMS = ('Classifier', 'logits function', 'probabilities function', 'nn.Module', 'transformers')
SPLIT = ('Classifier', 'nn.Module', 'transformers')   # forms with a features/head cut (Craft, TExplain need one)


def make(form):
    "(the classifier in the form `form`, the same model wrapped as a `Classifier`, its features function)."
    if form == 'transformers':
        vit = tiny_vit_classifier(image_size=32, seed=0)
        ref = as_classifier(vit, image_preprocess(32, (.5,) * 3, (.5,) * 3))   # what as_classifier(vit) adds by default
        return vit, ref, ref.features
    net = TinyCNN(seed=0)
    ref = as_classifier(net)
    return {'Classifier': ref, 'logits function': lambda x: net(x), 'nn.Module': net,
            'probabilities function': as_classifier(lambda x: net(x).softmax(1), output='probs')}[form], ref, net.features


@pytest.fixture(scope='module')
def world():
    return make_dataset('red_metal', 6, 3, 'test')   # images, labels, scenes


def close(a, b, tol=1e-5):
    return all(math.isclose(u, v, abs_tol=tol) or (u != u and v != v) for u, v in zip(a, b))


@pytest.mark.parametrize('form', FORMS)
def test_check_classifier_wraps_every_form(form, world):
    f, ref, _ = make(form)
    clf = check_classifier(f, world[0], k=1)
    assert isinstance(clf, Classifier)
    assert torch.allclose(clf(world[0]), ref(world[0]), atol=1e-5)


@pytest.mark.parametrize('form', FORMS)
def test_stage1_explainer(form, world):
    from gift_nb.counterfactuals import CounterfactualExplainer, WorldAutoencoder
    f, ref, _ = make(form)
    torch.manual_seed(0); ae = WorldAutoencoder(latent=4, width=8, width2=8)
    fast = dict(steps=2, retry=False, retry_noise_free=False, snap=0, scan=False, sparsify=(), batch_size=6)
    recs = CounterfactualExplainer(f, ae, **fast)(world[0])
    p = ref(world[0])
    assert len(recs) == 6
    for r, q in zip(recs, p):
        assert close(r.probs_before, q.tolist()) and r.pred_before == int(q.argmax())


def same_records(got, want, tol=1e-5):
    "Counterfactual records that agree: probabilities, predictions, targets and validity."
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert close(g.probs_before, w.probs_before, tol) and close(g.probs_after, w.probs_after, tol)
        assert (g.pred_before, g.pred_after, g.target, g.valid) == (w.pred_before, w.pred_after, w.target, w.valid)


@pytest.mark.parametrize('form', FORMS)
def test_diffusion_explainer(form, world):
    pytest.importorskip('diffusers')
    from diffusers import DDIMScheduler
    from gift_nb.diffusion import DiffusionCounterfactualExplainer
    f, ref, _ = make(form)
    unet = tiny_unet()
    run = lambda c: DiffusionCounterfactualExplainer(c, unet, DDIMScheduler(), strength=0.5, num_inference_steps=4,
                                                     batch_size=6, device='cpu')
    got, want = run(f), run(ref)
    recs, ref_recs = got(world[0]), want(world[0])   # the classifier's gradient guides the denoising
    assert len(recs) == 6 and all(r.method == 'diffusion' for r in recs)
    assert (got.images - want.images).abs().max() <= 1 / 255 + 1e-6   # the same images, up to a rounding of the 8-bit pixels
    same_records(recs, ref_recs, 1e-4)
    for r, q in zip(recs, ref(got.images)): assert close(r.probs_after, q.tolist())


@pytest.mark.parametrize('form', FORMS)
def test_scene_search(form, world):
    from gift_nb.cf_quality import SceneSearchExplainer
    f, ref, _ = make(form)
    run = lambda c: SceneSearchExplainer(c, max_attrs=1, add_grid=0, show_progress=False)
    got, want = run(f), run(ref)
    recs, ref_recs = got(world[0][:3], world[2][:3]), want(world[0][:3], world[2][:3])
    assert len(recs) == 3 and torch.equal(got.images, want.images)
    same_records(recs, ref_recs)
    assert [r.meta['edit'] for r in recs] == [r.meta['edit'] for r in ref_recs]


@pytest.mark.parametrize('form', FORMS)
def test_verify(form, world):
    from gift_nb.verification import verify
    f, ref, _ = make(form)
    hyps = ['there is a red object', 'there is a cube']
    got, want = (verify(hyps, c, base=world[2], n_boot=20) for c in (f, ref))
    assert [v.hypothesis for v in got] == [v.hypothesis for v in want] and all(v.n == 6 for v in got)
    assert close([v.pns for v in got], [v.pns for v in want]) and close([v.cace for v in got], [v.cace for v in want])


@pytest.mark.parametrize('form', FORMS)
def test_oracle_effects(form, world):
    from gift_nb.oracle import oracle_effects
    f, ref, _ = make(form)
    rules = [exists(concept(color='red')), exists(concept(shape='cube'))]
    got, want = (oracle_effects(c, rules, world[2], n_boot=20) for c in (f, ref))
    assert [r.hypothesis for r in got] == [r.hypothesis for r in want]
    assert close([r.cace for r in got], [r.cace for r in want]) and close([r.pns for r in got], [r.pns for r in want])


@pytest.mark.parametrize('form', FORMS)
def test_craft(form, world):
    from gift_nb.baselines.craft import Craft
    f, ref, _ = make(form)
    kw = dict(k=1, n_concepts=2, patch_size=32, nmf_max_iter=20)
    if form not in SPLIT:
        with pytest.raises(NotImplementedError, match=r'a plain function \(a lambda\) has no known features/head cut: pass split='):
            Craft.from_classifier(f, **kw)
        return
    got, want = (Craft.from_classifier(c, **kw).fit(world[0]) for c in (f, ref))
    assert got.W.shape == want.W.shape == (2, want.W.shape[1])
    assert torch.allclose(torch.as_tensor(got.W), torch.as_tensor(want.W), atol=1e-4)


@pytest.mark.parametrize('form', FORMS)
def test_ltx(form, world):
    from gift_nb.baselines.ltx import LTX
    f, ref, _ = make(form)
    ltx = LTX(f, steps=1, batch_size=6)
    assert torch.equal(ltx.clf.predict(world[0]), ref.predict(world[0]))
    ltx.pretrain(world[0], epochs=1)
    m = ltx.explain(world[0][:2])
    assert m.shape == (2, 64, 64) and 0 <= m.min() and m.max() <= 1


@pytest.mark.parametrize('form', FORMS)
def test_texplain(form, world):
    from gift_nb.baselines.texplain import TExplain, tiny_lm
    f, ref, feats = make(form)
    lm = tiny_lm(seed=1)
    if form not in SPLIT:
        with pytest.raises(ValueError, match=r'cannot find the feature layer of a plain function \(a lambda\): pass features_fn='):
            TExplain(f, lm=lm)
    tex = TExplain(f, lm=lm, features_fn=None if form in SPLIT else feats).fit(n_images=8, steps=2, batch_size=4)
    assert torch.allclose(tex.pooled(world[0]), TExplain(ref, lm=lm, features_fn=feats).pooled(world[0]), atol=1e-5)
    words = tex.explain(world[0][:2], S=1)
    assert words.classes.tolist() == ref.predict(world[0][:2]).tolist()


def gift_run(clf, world, path):
    from gift_nb.counterfactuals import CounterfactualExplainer, WorldAutoencoder
    from gift_nb.pipeline import GIFT
    torch.manual_seed(0); ae = WorldAutoencoder(latent=4, width=8, width2=8)
    cf = CounterfactualExplainer(clf, ae, steps=2, retry=False, retry_noise_free=False, snap=0, scan=False, sparsify=())
    rep = GIFT(clf, cf, oracle=False, verify_split=.5, n_boot=20, chunk=4).run(world, path, extra_hypotheses=['there is a red object'])
    return [(h.text, v.n, v.pns, v.cace) for h, v in rep.pairs], rep.flip_stats


@pytest.fixture(scope='module')
def reference_runs(world, tmp_path_factory):
    return {kind: gift_run(make(form)[1], world, tmp_path_factory.mktemp(kind)/'run')
            for kind, form in (('cnn', 'Classifier'), ('vit', 'transformers'))}


@pytest.mark.parametrize('form', FORMS)
def test_gift_run(form, world, reference_runs, tmp_path):
    pairs, flips = gift_run(make(form)[0], world, tmp_path/'run')
    ref_pairs, ref_flips = reference_runs['vit' if form == 'transformers' else 'cnn']
    assert flips == ref_flips and [p[:2] for p in pairs] == [p[:2] for p in ref_pairs]
    assert any(t == 'there is a red object' and n == 3 for t, n, *_ in pairs)
    assert close([p[2] for p in pairs], [p[2] for p in ref_pairs]) and close([p[3] for p in pairs], [p[3] for p in ref_pairs])


def test_gift_accepts_a_shipped_name():
    from gift_nb.pipeline import GIFT
    g = GIFT('red_metal')
    assert isinstance(g.classifier, Classifier) and g.task.name == 'red_metal' and g.oracle


net = TinyCNN(seed=0)
BAD = [
    (lambda x: net(x).softmax(1), 1, "a plain function (a lambda): output of shape (2, 2) has rows that are probabilities "
     "(non-negative, summing to 1), but it does not say what it returns: wrap it as as_classifier(fn, output='probs')"),
    (nn.Conv2d(3, 2, 3), 1, "a torch.nn.Module (Conv2d): output has shape (2, 2, 62, 62) for 2 images, not logits [N=2, C]"),
    (lambda x: net(x)[:1], 1, "a plain function (a lambda): output has shape (1, 2) for 2 images, not logits [N=2, C] "
     "(1 rows for 2 images: the batch size does not match)"),
    (lambda x: net(x) / 0 * 0, 1, "a plain function (a lambda): output of shape (2, 2) contains NaN or inf"),
    (lambda x: net(x) + float('inf'), 1, "a plain function (a lambda): output of shape (2, 2) contains NaN or inf"),
    (as_classifier(lambda x: net(x)[:, :1].sigmoid(), output='probs'), 1,
     "a plain function (a lambda) is declared output='probs' but returns one column (shape (2, 1)), i.e. one class"),
    (as_classifier(lambda x: torch.randn(len(x), 2), output='probs'), 1,
     "is declared output='probs' but its output of shape (2, 2) has rows that are not probabilities"),
    (net, 2, "k=2 is not a class of this classifier (a torch.nn.Module (TinyCNN), 2 classes: 0..1)"),
    (nn.Linear(5, 2), 1, "the classifier failed on the data's images (a batch of shape (2, 3, 64, 64), float in [0,1]): "
     "RuntimeError: a torch.nn.Module (Linear) failed on images of shape (2, 3, 64, 64)"),
]


@pytest.mark.parametrize('existing', [False, True], ids=['new-dir', 'empty-dir'])
@pytest.mark.parametrize('bad, k, says', BAD, ids=['undeclared-probs', 'shape', 'batch', 'nan', 'inf', 'one-class', 'not-probs',
                                                  'no-class-k', 'fails'])
def test_bad_classifier_fails_before_anything_is_written(bad, k, says, existing, world, tmp_path):
    from gift_nb.pipeline import GIFT
    run = tmp_path/'run'
    if existing: run.mkdir()
    with pytest.raises(ValueError) as e: GIFT(bad, k=k, oracle=False, verify_split=.5).run(world, run)
    assert says in str(e.value), str(e.value)
    assert (list(run.iterdir()) == []) if existing else not run.exists()


def test_not_a_classifier():
    from gift_nb.pipeline import GIFT
    with pytest.raises(TypeError, match=re.escape("cannot use an int (3) as a classifier: pass a Classifier, a torch.nn.Module")):
        GIFT(3)
    with pytest.raises(ValueError, match='names one class'): as_classifier(net, class_names=['only'])
