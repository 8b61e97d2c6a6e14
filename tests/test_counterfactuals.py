"Tests of gift_nb.counterfactuals (stage 1): the explainer's contract, projection, metrics, viewer, shipped weights."
import warnings
import numpy as np
import pytest
import torch
from gift_nb.core import quantize
from gift_nb.classifier import as_classifier, load_classifier
from gift_nb.testing import TinyCNN
from gift_nb.world import Obj, Scene, render, TASKS, make_dataset
from gift_nb.autoencoder import WorldAutoencoder, load_autoencoder, ae_loss, reconstruct
from gift_nb.counterfactuals import CounterfactualExplainer, CounterfactualViewer
from gift_nb.cf_quality import cf_metrics, project_counterfactual, edit_candidates

@pytest.fixture(scope='module')
def tiny():
    torch.manual_seed(0)
    clf = as_classifier(TinyCNN(), class_names=['a', 'b'])
    return clf, WorldAutoencoder(latent=4, width=8, width2=8)

def test_contract_mixed_batch(tiny):
    clf, ae = tiny
    x = torch.rand(5, 3, 64, 64)
    ex = CounterfactualExplainer(clf, ae, steps=3, batch_size=2)
    recs = ex(x)
    assert len(recs) == 5 and ex.images.shape == (5, 3, 64, 64)
    assert torch.equal(ex.images, quantize(ex.images))
    pa = clf(ex.images)
    for i, r in enumerate(recs):
        assert r.source == i and r.image == i and r.target == 1 - r.pred_before
        assert r.direction == ('1->0' if r.pred_before == 1 else '0->1')
        assert r.valid == ((r.pred_before == 1) != (r.pred_after == 1))
        assert r.pred_after == int(pa[i].argmax())  # validity is measured on the 8-bit image
    assert ex.stats['n'] == 5 and 0 <= ex.stats['flip_rate'] <= 1

def test_deterministic_and_seed(tiny):
    clf, ae = tiny
    x = torch.rand(3, 3, 64, 64)
    a = CounterfactualExplainer(clf, ae, steps=4, seed=1); a(x)
    b = CounterfactualExplainer(clf, ae, steps=4, seed=1); b(x)
    assert torch.equal(a.images, b.images)

def test_bad_input(tiny):
    clf, ae = tiny
    ex = CounterfactualExplainer(clf, ae, steps=2)
    assert ex(torch.zeros(0, 3, 64, 64)) == []
    for bad in (float('nan'), float('inf')):
        with pytest.raises(ValueError, match='NaN or inf'): ex(torch.full((1, 3, 64, 64), bad))
    with pytest.raises(ValueError, match='x\\[None\\]'): ex(torch.rand(3, 64, 64))
    with pytest.raises(ValueError, match=r'\[0,1\]'): ex(torch.rand(1, 3, 64, 64) * 3)
    with pytest.raises(TypeError, match='255'): ex(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))
    with pytest.warns(UserWarning, match='resized'): assert len(ex(torch.rand(2, 3, 48, 48))) == 2
    with pytest.warns(UserWarning, match='grayscale'): assert len(ex(torch.rand(1, 1, 64, 64))) == 1
    with pytest.raises(ValueError, match='target'): ex(torch.rand(2, 3, 64, 64), target=[0, 1, 1])

def test_nothing_flips_is_reported(tiny):
    clf, ae = tiny
    ex = CounterfactualExplainer(clf, ae, steps=1, lr=1e-9, mask_threshold=1.)
    recs = ex(torch.rand(4, 3, 64, 64))
    assert len(recs) == 4 and not any(r.valid for r in recs)
    assert ex.stats['flip_rate'] == 0

def test_explicit_target(tiny):
    clf, ae = tiny
    x = torch.rand(2, 3, 64, 64)
    recs = CounterfactualExplainer(clf, ae, steps=1)(x, target=1)
    assert [r.target for r in recs] == [1, 1]

def test_projection_semantic_and_not():
    rule = TASKS['red_metal'].rule
    s = Scene((Obj('cube', 'red', 'large', 'metal', x=0., y=0.), Obj('sphere', 'gray', 'small', 'rubber', x=1.5, y=1.5)))
    x = render(s)[0]
    brown = render(Scene((Obj('cube', 'brown', 'large', 'metal', x=0., y=0.),) + s.objects[1:]))[0]
    p = project_counterfactual(brown, x, s, rule)
    assert p['semantic'] and 'became brown' in p['edit']
    # an edit that does not change the rule's truth is not semantic
    blue_sphere = render(Scene(s.objects[:1] + (Obj('sphere', 'blue', 'small', 'rubber', x=1.5, y=1.5),)))[0]
    p2 = project_counterfactual(blue_sphere, x, s, rule)
    assert 'became blue' in p2['edit'] and not p2['truth_flips'] and not p2['semantic']
    # noise is not an edit
    p3 = project_counterfactual((x + 0.2 * torch.randn_like(x)).clamp(0, 1), x, s, rule)
    assert not p3['semantic']
    # an added object is found where the image changed
    s_add = Scene(s.objects + (Obj('cylinder', 'red', 'small', 'metal', x=-1.5, y=-1.0),))
    p4 = project_counterfactual(render(s_add)[0], x, s, rule)
    assert 'added' in p4['edit'] and 'red metal' in p4['edit']

def test_edit_candidates_counts():
    s = Scene((Obj('cube', 'red', 'large', 'metal'),))
    assert len(edit_candidates(s)) == 11 + 33 + 1
    assert len(edit_candidates(s, max_attrs=1)) == 12

def test_cf_metrics_numbers():
    from gift_nb.core import Counterfactual
    s = Scene((Obj('cube', 'red', 'large', 'metal', x=0., y=0.),))
    x = render([s, s]); xc = render([Scene((Obj('cube', 'brown', 'large', 'metal', x=0., y=0.),)), s])
    mk = lambda i, v: Counterfactual(id=str(i), source=i, image=i, k=1, probs_before=[.1, .9], probs_after=[.9, .1] if v else [.1, .9],
                                     pred_before=1, pred_after=0 if v else 1, target=0, direction='1->0', valid=v)
    m = cf_metrics([mk(0, True), mk(1, False)], x, xc, [s, s], TASKS['red_metal'].rule, seconds=2.)
    assert m['1->0']['validity'] == 0.5 and m['1->0']['semantic'] == 1.0 and m['1->0']['semantic_of_all'] == 0.5
    assert m['0->1']['n'] == 0
    assert m['all']['semantic_per_s'] == 0.5
    assert 0 < m['all']['changed_median'] < 0.2

def test_viewer_state(tiny):
    clf, ae = tiny
    x = torch.rand(4, 3, 64, 64)
    ex = CounterfactualExplainer(clf, ae, steps=1); recs = ex(x)
    v = CounterfactualViewer(recs, x, ex.images, notes=list('abcd'))
    assert v.current()['note'] == 'a'
    v.step(-1); assert v.current()['position'] == 3
    v.set_filter('invalid'); assert all(not recs[i].valid for i in v.items)
    with pytest.raises(ValueError): v.set_filter('nope')
    with pytest.raises(ValueError): CounterfactualViewer(recs, x, ex.images, notes=['a'])
    v.widget(); v.step(1)

def test_ae_loss_prefers_sharp():
    x = render(Scene((Obj('cube', 'red', 'large', 'metal'),)))
    blurry = torch.nn.functional.avg_pool2d(x, 5, stride=1, padding=2)
    from gift_nb.autoencoder import _background
    assert ae_loss(x, x, _background()) == 0 and ae_loss(blurry, x, _background()) > 0

def test_shipped_autoencoder():
    ae = load_autoencoder()
    assert sum(p.numel() for p in ae.parameters()) == ae.card['n_params']
    x, _, _ = make_dataset(TASKS['red_metal'], 8, seed=3, split='test')
    assert (reconstruct(ae, x) - x).abs().mean() < 0.05

def test_sparsify_keeps_flip_and_shrinks_edit():
    clf = load_classifier('red_metal', device='cpu')
    x, _, _ = make_dataset(clf.task, 4, seed=7, split='test')
    a = CounterfactualExplainer(clf, steps=24, sparsify=(), retry=False, snap=0); ra = a(x)
    b = CounterfactualExplainer(clf, steps=24, retry=False, snap=0); rb = b(x)
    for i, (p, q) in enumerate(zip(ra, rb)):
        assert q.valid == p.valid  # the sparsified edit is chosen only where p(target) stays >= sparsify_p
        if p.valid: assert q.meta['changed'] <= p.meta['changed'] + 1e-9

def test_snap_keeps_flip_and_makes_world_edits():
    from gift_nb.cf_quality import cf_metrics
    clf = load_classifier('red_metal', device='cpu')
    x, _, scenes = make_dataset(clf.task, 8, seed=7, split='test')
    out = {}
    for snap in (0, 9):
        ex = CounterfactualExplainer(clf, steps=40, retry=False, snap=snap, show_progress=False); recs = ex(x)
        out[snap] = cf_metrics(recs, x, ex.images, scenes, clf.task.rule)['all']
    assert out[9]['validity'] == out[0]['validity'] == 1.0  # a snapped edit is used only where it still flips
    assert out[9]['n_semantic'] >= out[0]['n_semantic'] + 3  # measured: 5 of 8 semantic with the snap, 0 without

def test_two_spheres_enter_needs_a_sphere():
    "0->1 of two_spheres (a second sphere must appear): the noise-free retry and the sphere scan make it flip, as world edits."
    clf = load_classifier('two_spheres', device='cpu')
    x, _, scenes = make_dataset(clf.task, 16, seed=2024, split='test')
    idx = torch.nonzero(clf(x).argmax(1) == 0).flatten()[:6]
    x, scenes = x[idx], [scenes[i] for i in idx]
    old = CounterfactualExplainer(clf, retry_noise_free=False, scan=False, snap=9, show_progress=False)
    old.spheres = None   # the previous default: recolours, rubber to metal and removal only
    assert sum(r.valid for r in old(x)) == 0   # measured: none of them flips
    ex = CounterfactualExplainer(clf, show_progress=False); recs = ex(x)
    m = cf_metrics(recs, x, ex.images, scenes, clf.task.rule)['0->1']
    assert m['validity'] == 1.0
    assert m["n_semantic"] >= 4   # measured: 6 of 6 project onto "the ... became sphere"

_TWICE = r"""
import hashlib, torch
torch.set_num_threads(1)
from gift_nb.classifier import load_classifier
from gift_nb.counterfactuals import CounterfactualExplainer
from gift_nb.priors import world_metal_table
from gift_nb.world import make_dataset
H = lambda t: hashlib.sha256(t.contiguous().numpy().tobytes()).hexdigest()[:16]
x, _, _ = make_dataset('red_metal', 4, 5, 'test')
ex = CounterfactualExplainer(load_classifier('red_metal'), steps=20)
ex(x)
print(H(world_metal_table()[1]), H(ex.images))
"""

def test_same_seed_same_counterfactuals_in_fresh_interpreters():
    "The world priors the snap learns (metal table) and the counterfactuals are the same bytes in two new processes."
    import os, subprocess, sys
    runs = [subprocess.run([sys.executable, '-c', _TWICE], capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr[-2000:]
    a, b = (r.stdout.strip().splitlines()[-1] for r in runs)
    assert len(a.split()) == 2 and a == b
