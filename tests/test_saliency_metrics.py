"""Tests of gift_nb.baselines.saliency_metrics: references, ordering, perturbation curves, world ground truth, captum baselines."""
import numpy as np
import pytest
import torch

from gift_nb.classifier import load_classifier
from gift_nb.baselines.saliency_metrics import (CAPTUM_METHODS, FINE_FRACTIONS, FRACTIONS, CaptumSaliency, as_saliency, blur,
                                      compare_methods, composite, curve_auc, curve_aucs, evidence_masks, evidence_objects, mask_iou,
                                      perturbation_curves, pointing_game, pos_auc, reference_images, saliency_metrics,
                                      saliency_order, saliency_table, world_background)
from gift_nb.world import Obj, Scene, concept, exists, get_task, make_dataset

@pytest.fixture(scope='module')
def data():
    clf = load_classifier('red_metal')
    x, y, sc = make_dataset('red_metal', 16, 21, 'test')
    keep = (y == 1).nonzero()[:, 0]
    x1, sc1 = x[keep], [sc[i] for i in keep.tolist()]
    return clf, x1, evidence_masks(get_task('red_metal').rule, sc1)

def test_references():
    x = torch.rand(3, 3, 32, 32)
    bg = world_background(32)
    assert torch.equal(reference_images(x, 'background')[2], bg)
    assert bg.min() >= 0.5 - 1e-6 and bg.max() <= 0.66 + 1e-6 and (bg[:, 1:] >= bg[:, :-1] - 1e-6).all()  # gray ramp
    assert torch.allclose(reference_images(x, 'mean')[0, :, 5, 5], x[0].mean((1, 2)))
    assert blur(x).shape == x.shape and blur(x).std() < x.std()
    m = torch.zeros(3, 32, 32); m[:, :16] = 1
    c = composite(x, m, reference_images(x, 'black'))
    assert torch.equal(c[:, :, :16], x[:, :, :16]) and c[:, :, 16:].abs().sum() == 0
    with pytest.raises(ValueError, match='one of'): reference_images(x, 'white')
    with pytest.raises(ValueError, match=r'\[0,1\]'): reference_images(x * 3, 'black')

def test_order_and_ties():
    s = torch.tensor([[[0., 3.], [2., 1.]]])
    assert saliency_order(s)[0].tolist() == [1, 2, 3, 0]
    a = saliency_order(torch.ones(1, 8, 8), seed=1)[0]
    assert sorted(a.tolist()) == list(range(64)) and a.tolist() != list(range(64))
    assert torch.equal(a, saliency_order(torch.ones(1, 8, 8), seed=1)[0])
    with pytest.raises(ValueError, match='NaN'): as_saliency(torch.full((1, 4, 4), float('nan')))
    with pytest.raises(TypeError): as_saliency([[1, 2]])

def test_auc_by_hand():
    assert curve_auc([0, .1], [1, 0]) == pytest.approx(50)
    assert curve_auc(FRACTIONS, np.ones(11)) == pytest.approx(100)
    c = dict(fractions=np.array([0, .5, 1.]), remove_correct=np.array([[1, 0, 0]]), keep_correct=np.array([[0, 1, 1]]),
             remove_prob=np.array([[1, .5, 0]]), keep_prob=np.array([[0, 1, 1]]))
    a = curve_aucs(c)
    assert a['pos'][0] == pytest.approx(25) and a['neg'][0] == pytest.approx(75)
    assert a['deletion'][0] == pytest.approx(50) and a['insertion'][0] == pytest.approx(75)
    with pytest.raises(ValueError, match='increasing'): curve_auc([0, 0], [1, 1])

def test_curves_and_metrics_rank_gt_over_random(data):
    clf, x1, gt = data
    rnd = torch.rand(len(x1), 64, 64, generator=torch.Generator().manual_seed(1))
    c = perturbation_curves(clf, x1, gt.float(), fractions=FINE_FRACTIONS, batch_size=3)
    assert c['remove_prob'].shape == (len(x1), 11)
    assert np.allclose(c['remove_prob'][:, 0], clf(x1)[:, 1].numpy(), atol=1e-5)  # nothing removed
    assert (c['keep_correct'][:, 0] == 0).all()  # nothing kept: the empty ground is class 0
    assert (c['remove_correct'][:, -1] == 0).all()  # 10% removed by the ground-truth order: object gone
    g, r = (saliency_metrics(clf, x1, s, gt_masks=gt, fractions=FINE_FRACTIONS) for s in (gt.float(), rnd))
    assert g['pointing'] == 1 and g['iou'] == 1 and r['iou'] < 0.2
    assert g['del_auc'] < r['del_auc'] - 30 and g['ins_auc'] > r['ins_auc'] + 30
    assert g['pos_auc'] < r['pos_auc'] and g['neg_auc'] > r['neg_auc']
    assert np.allclose(pos_auc(clf, x1, gt.float(), fractions=FINE_FRACTIONS), curve_aucs(perturbation_curves(
        clf, x1, gt.float(), fractions=FINE_FRACTIONS))['pos'])
    with pytest.raises(ValueError, match='saliency maps'): saliency_metrics(clf, x1, rnd[:2])

def test_evidence_objects_and_masks():
    s = Scene((Obj(shape='cube', color='red', material='metal', size='large', x=-2., y=0.),
               Obj(shape='sphere', color='blue', material='rubber', size='small', x=2., y=0.)))
    red_metal = exists(concept(color='red', material='metal'))
    assert evidence_objects(red_metal, s) == [0]
    assert evidence_objects(red_metal & exists(concept(shape='sphere')), s) == [0, 1]
    assert evidence_objects(exists(concept(color='green')) | exists(concept(color='blue')), s) == [1]
    assert evidence_objects(~exists(concept(color='green')), s) == []
    m = evidence_masks(red_metal, [s, Scene(())])
    assert m[0].sum() > 20 and m[1].sum() == 0
    with pytest.raises(TypeError): evidence_masks(concept(color='red'), [s])

def test_pointing_and_iou():
    g = torch.zeros(1, 10, 10, dtype=torch.bool); g[0, 4:6, 4:6] = True
    s = torch.zeros(1, 10, 10); s[0, 0, 0] = 1
    assert pointing_game(s, g)[0] == 0 and pointing_game(s, g, tolerance=4)[0] == 1
    assert mask_iou(g.float(), g)[0] == 1
    s2 = g.float().clone(); s2[0, 4, 6] = 1  # one extra pixel
    assert mask_iou(s2, g)[0] == pytest.approx(4 / 5)
    assert np.isnan(mask_iou(s, torch.zeros_like(g))[0])
    with pytest.raises(ValueError, match='threshold'): mask_iou(s, g, threshold=2)

def test_captum_baselines(data):
    clf, x1, gt = data
    rows = saliency_table({m: CaptumSaliency(clf, m, n_steps=8, batch_size=4) for m in CAPTUM_METHODS}, clf, x1[:4],
                          gt_masks=gt[:4])
    assert [r['method'] for r in rows] == list(CAPTUM_METHODS)
    for r in rows:
        assert 0 <= r['pos_auc'] <= 100 and 0 <= r['iou'] <= 1 and r['s_per_image'] > 0 and 'del_auc_10' in r
    ig = CaptumSaliency(clf, 'integrated_gradients', n_steps=8)(x1[:2])
    assert ig.shape == (2, 64, 64) and torch.equal(ig, CaptumSaliency(clf, 'integrated_gradients', n_steps=8)(x1[:2]))
    with pytest.raises(ValueError, match='method'): CaptumSaliency(clf, 'shap')

def test_import_is_light():
    import subprocess, sys
    code = "import sys, gift_nb.baselines.saliency_metrics, gift_nb.baselines.ltx; print('captum' in sys.modules)"
    assert subprocess.run([sys.executable, '-c', code], capture_output=True, text=True).stdout.strip() == 'False'

def _row(name, **per_image): return dict(method=name, per_image={k: np.asarray(v, float) for k, v in per_image.items()})

def test_compare_methods_directions_and_pairing():
    rng = np.random.default_rng(0)
    base = rng.uniform(20, 80, 60)
    rows = [_row('a', del_auc=base - 5, iou=np.full(60, 0.6), pointing=np.r_[np.ones(59), np.nan]),
            _row('b', del_auc=base, iou=np.full(60, 0.4), pointing=np.ones(60)),
            _row('c', del_auc=base + rng.normal(0, 1, 60), iou=np.full(60, 0.4), pointing=np.ones(60))]
    out = {(c['baseline'], c['metric']): c for c in compare_methods(rows, 'a', metrics=('del_auc', 'iou', 'pointing'))}
    # lower deletion is better; higher IoU is better; the paired differences are constant, so the interval is a point
    assert out['b', 'del_auc']['verdict'] == 'better' and out['b', 'del_auc']['diff'] == pytest.approx(-5)
    assert out['b', 'iou']['verdict'] == 'better' and out['b', 'iou']['ci'] == pytest.approx((0.2, 0.2))
    assert out['b', 'pointing']['n'] == 59 and out['b', 'pointing']['verdict'] == 'tie'  # the NaN image is left out
    # pairing: b vs c differ by small noise around 0 on every image, though both vary widely across images
    bc = compare_methods(rows, 'b', ['c'], metrics=('del_auc',))[0]
    assert bc['verdict'] == 'tie' and bc['ci'][1] - bc['ci'][0] < 1.5
    assert compare_methods(rows, 'b', ['a'], metrics=('del_auc',))[0]['verdict'] == 'worse'
    with pytest.raises(ValueError, match='no row'): compare_methods(rows, 'z')
    with pytest.raises(ValueError, match='gt_masks'): compare_methods(rows, 'a', metrics=('ins_auc',))
    with pytest.raises(ValueError, match='per_image=True'): compare_methods(rows + [dict(method='d')], 'a')
