"""Tests of gift_nb.baselines.ltx: explainer networks, the objective, pretraining, per-instance fine-tuning, shipped weights."""
import warnings
import numpy as np
import pytest
import torch

from gift_nb.classifier import load_classifier
from gift_nb.baselines.ltx import (GRADIENT_OFFSETS, LTX, SHIPPED_LTX, FeatureMaskNet, MaskNet, class1_test_set, default_explainer, load_ltx,
                         mask_logits, save_ltx)
from gift_nb.baselines.saliency_metrics import FINE_FRACTIONS, pos_auc, reference_images, saliency_metrics
from gift_nb.world import make_dataset

@pytest.fixture(scope='module')
def clf(): return load_classifier('red_metal')

@pytest.fixture(scope='module')
def shipped(): return load_ltx('red_metal')

def test_networks_output_input_size(clf):
    for net in (MaskNet(), default_explainer(clf)):
        z = net(torch.rand(3, 3, 64, 64))
        assert z.shape == (3, 1, 64, 64)
    assert isinstance(default_explainer(clf), FeatureMaskNet)
    assert isinstance(default_explainer(torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.AdaptiveAvgPool2d(1),
                                                            torch.nn.Flatten())), MaskNet)

def test_wrong_mask_size_is_resized_with_warning_or_rejected():
    with pytest.warns(UserWarning, match='resizing'):
        z = mask_logits(torch.nn.Conv2d(3, 1, 4, stride=4), torch.rand(2, 3, 64, 64))
    assert z.shape == (2, 1, 64, 64)
    with pytest.raises(ValueError, match=r'\[N,1,H,W\]'): mask_logits(torch.nn.Conv2d(3, 3, 1), torch.rand(2, 3, 64, 64))
    with pytest.raises(TypeError, match='tensor'): mask_logits(lambda x: [x], torch.rand(2, 3, 64, 64))

def test_bad_settings(clf):
    with pytest.raises(ValueError, match='steps'): LTX(clf, steps=-2)
    with pytest.raises(ValueError, match='target'): LTX(clf, target='true')
    with pytest.raises(TypeError, match='nn.Module'): LTX(clf, explainer=lambda x: x)
    with pytest.raises(ValueError, match='labels'): LTX(clf, target='label').explain(torch.rand(1, 3, 64, 64))

def test_objective_and_frozen_classifier(clf):
    x, _, _ = make_dataset('red_metal', 8, 2, 'test')
    ltx = LTX(clf, mask_weight=3.0, ce_neg=True)
    t, ref = clf.predict(x), reference_images(x)
    l1 = ltx.loss(x, torch.ones(8, 1, 64, 64), t, ref)
    ce = torch.nn.functional.cross_entropy(clf.logits(x), t, reduction='none')
    ce_bg = torch.nn.functional.cross_entropy(clf.logits(ref), t, reduction='none')
    assert torch.allclose(l1, (ce - ce_bg) / 2 + 3.0, atol=1e-4)
    before = [p.clone() for p in clf.model.parameters()]
    ltx.pretrain(x, epochs=1)
    assert all(torch.equal(a, b) for a, b in zip(before, clf.model.parameters()))
    assert all(p.grad is None for p in clf.model.parameters()) and all(p.requires_grad for p in clf.model.parameters())

def test_pretraining_is_seeded_and_learns(clf):
    x, _, _ = make_dataset('red_metal', 96, 4, 'train')
    a, b = LTX(clf, batch_size=16, seed=1, lr=5e-3), LTX(clf, batch_size=16, seed=1, lr=5e-3)
    ha, _ = a.pretrain(x, epochs=2), b.pretrain(x, epochs=2)
    assert torch.equal(a.masks(x[:4]), b.masks(x[:4]))
    assert ha[-1]['mask_mean'] < ha[0]['mask_mean'] < 0.96  # the sparsity term carves the mask down

def test_k0_is_the_pretrained_mask_and_finetuning_selects(shipped):
    x, gt, _ = class1_test_set('red_metal', 6, seed=9)
    m0 = shipped.explain(x, steps=0)
    assert torch.equal(m0, shipped.masks(x))
    mk = shipped.explain(x, steps=4)
    info = shipped.last_info
    p0 = pos_auc(shipped.clf, x, m0, fractions=shipped.fractions)
    pk = pos_auc(shipped.clf, x, mk, fractions=shipped.fractions)
    assert np.allclose(pk, info['pos_auc'], atol=1e-4) and (pk <= p0 + 1e-6).all()
    assert info['best_step'].max() <= 4 and len(info['best_step']) == 6
    assert torch.equal(shipped.explain(x, steps=4), mk)  # deterministic
    # batching does not change the result: one copy of the explainer per image
    assert torch.allclose(torch.cat([shipped.explain(x[:3], steps=4), shipped.explain(x[3:], steps=4)]), mk, atol=1e-4)

def test_shipped_explainer_localises(shipped):
    x, gt, _ = class1_test_set('red_metal', 16, seed=5)
    m = saliency_metrics(shipped.clf, x, shipped.masks(x), gt_masks=gt, fractions=FINE_FRACTIONS)
    rnd = saliency_metrics(shipped.clf, x, torch.rand(16, 64, 64), gt_masks=gt, fractions=FINE_FRACTIONS)
    assert m['pointing'] > 0.6 and m['iou'] > rnd['iou'] + 0.1 and m['ins_auc'] > rnd['ins_auc'] + 30
    card = shipped.card
    assert card['arch'] == 'FeatureMaskNet' and card['classifier'] == 'red_metal' and 'pretrained_K0_test64' in card['metrics']

def test_save_load_roundtrip(clf, tmp_path):
    ltx = LTX(clf, explainer=MaskNet((8, 8, 8)), steps=2, mask_weight=1.5, finetune_lr=1e-3, logits_only=True,
              finetune_pixel_lr=0.5, finetune_pixel_update='gradient', keep_tied='last')
    p = save_ltx(ltx, 'x', weights_dir=tmp_path)
    back = load_ltx(p, classifier=clf)
    x = torch.rand(2, 3, 64, 64)
    assert torch.equal(back.masks(x), ltx.masks(x)) and back.steps == 2 and back.mask_weight == 1.5 and back.logits_only
    assert (back.finetune_pixel_lr, back.finetune_pixel_update, back.keep_tied) == (0.5, 'gradient', 'last')
    assert back.finetune_lr == 1e-3 and back.lr == ltx.lr
    (tmp_path / 'x.ltx.safetensors').write_bytes(b'broken')
    with pytest.raises(ValueError, match='sha256'): load_ltx(p, classifier=clf)
    with pytest.raises(FileNotFoundError, match='shipped ones'): load_ltx('nope', weights_dir=tmp_path)

def test_finetune_lr_is_used(shipped, monkeypatch):
    "Per-instance fine-tuning runs AdamW at `finetune_lr` (the shipped recipe: 2e-3, pretraining at 5e-3)."
    assert SHIPPED_LTX['red_metal']['finetune_lr'] == shipped.finetune_lr != shipped.lr
    seen, adamw = [], torch.optim.AdamW
    monkeypatch.setattr(torch.optim, 'AdamW', lambda params, lr: seen.append(lr) or adamw(params, lr=lr))
    shipped.explain(class1_test_set('red_metal', 2, seed=9)[0], steps=1)
    assert seen == [shipped.finetune_lr]

def test_finetune_necessity_option(clf, shipped, tmp_path):
    "The bounded necessity term (not LTX's objective) is off by default, >= 0, used only in fine-tuning, and saved."
    assert shipped.finetune_necessity == 0.0 and SHIPPED_LTX['red_metal'].get('finetune_necessity', 0.0) == 0.0
    x, _, _ = class1_test_set('red_metal', 3, seed=9)
    t, ref, m = clf.predict(x), reference_images(x), torch.rand(3, 1, 64, 64)
    assert (shipped.loss(x, m, t, ref, necessity=2.0) >= shipped.loss(x, m, t, ref)).all()
    base = shipped.explain(x, steps=3)
    nec = load_ltx('red_metal', finetune_necessity=5.0)
    assert not torch.equal(nec.explain(x, steps=3), base)
    assert torch.equal(nec.explain(x, steps=0), shipped.explain(x, steps=0))  # K = 0: the pretrained mask, as before
    with pytest.raises(ValueError, match='finetune_necessity'): LTX(clf, finetune_necessity=-0.5)
    ltx = LTX(clf, explainer=MaskNet((8, 8, 8)), finetune_necessity=1.5)
    assert load_ltx(save_ltx(ltx, 'n', weights_dir=tmp_path), classifier=clf).finetune_necessity == 1.5
    assert load_ltx('red_metal', reference='blur').reference == 'blur'  # the stored reference can be overridden too

def test_class1_val_split():
    xv, gv, _ = class1_test_set('red_metal', 4, seed=11, split='val')
    xt, _, _ = class1_test_set('red_metal', 4, seed=11)
    assert len(xv) == 4 and gv.flatten(1).any(1).all() and not torch.equal(xv, xt)
    with pytest.raises(ValueError, match='split'): class1_test_set('red_metal', 4, split='train')

def test_logits_only_changes_finetuning(shipped):
    "LTX's `use_logits_only`: the same pretrained weights fine-tune differently, and the selection still keeps step 0's mask or better."
    x, _, _ = class1_test_set('red_metal', 3, seed=9)
    ce = shipped.explain(x, steps=3)
    lo = load_ltx('red_metal', logits_only=True, show_progress=False)
    ml = lo.explain(x, steps=3)
    assert not torch.equal(ml, ce)
    assert (lo.last_info['pos_auc'] <= pos_auc(lo.clf, x, lo.masks(x), fractions=lo.fractions) + 1e-6).all()

def test_gradient_offsets_variant(shipped):
    """`GRADIENT_OFFSETS`: the shipped pretrained weights fine-tuned with LTX's logit and ce_neg loss and gradient-sized
    pixel offsets; older cards (without the new settings) load with the defaults, masks are float64 and in (0, 1)."""
    assert (shipped.finetune_pixel_update, shipped.keep_tied, shipped.early_stop) == ('adamw', 'first', 5.0)
    x, _, _ = class1_test_set('red_metal', 3, seed=9)
    go = load_ltx('red_metal', show_progress=False, **GRADIENT_OFFSETS)
    assert torch.equal(go.masks(x), shipped.masks(x))  # the same pretrained weights
    m = go.explain(x, steps=4)
    assert m.dtype == torch.float64 and 0 < m.min() and m.max() < 1 and not torch.equal(m, shipped.explain(x, steps=4))
    assert (go.last_info['pos_auc'] <= pos_auc(go.clf, x, go.masks(x), fractions=go.fractions) + 1e-6).all()
    adam = load_ltx('red_metal', show_progress=False, **{**GRADIENT_OFFSETS, 'finetune_pixel_update': 'adamw', 'finetune_pixel_lr': 1.0})
    assert not torch.equal(adam.explain(x, steps=4), m)  # the update rule matters, not only the loss
    with pytest.raises(ValueError, match='finetune_pixel_update'): LTX(shipped.clf, finetune_pixel_update='sign')
