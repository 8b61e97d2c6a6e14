"""Tests of gift_nb.baselines.texplain: descriptions, tokenizer, frozen LM, translator training, sampling, counts, control, plots."""
import json, math
import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip('transformers')
from gift_nb.baselines.texplain import (VOCAB, STOP_WORDS, FrozenLM, TExplain, Translator, Words, compare_words, content_words,
                              describe_scene, load_lm, load_translator, plot_words, pool_features, random_like, save_lm,
                              save_translator, tiny_lm, world_tokenizer, pretrain_lm)
from gift_nb.classifier import WEIGHTS_DIR, as_classifier
from gift_nb.testing import TinyCNN
from gift_nb.world import render, sample_scene

@pytest.fixture(scope='module')
def scenes():
    rng = np.random.default_rng(0)
    return [sample_scene(rng) for _ in range(40)]

@pytest.fixture(scope='module')
def fitted(scenes):
    tex = TExplain(TinyCNN(seed=3), lm=tiny_lm(seed=1))
    return tex.fit(n_images=64, steps=40, batch_size=8, seed=0)

def test_descriptions_vary_and_stay_in_vocabulary(scenes):
    tok = world_tokenizer()
    unk = tok.unk_token_id
    texts = [describe_scene(s, i) for i, s in enumerate(scenes) for _ in range(3)]
    assert all(unk not in tok(t)['input_ids'] for t in texts)
    assert describe_scene(scenes[0], 7) == describe_scene(scenes[0], 7)
    assert len({describe_scene(scenes[5], i) for i in range(30)}) > 10
    full = describe_scene(scenes[0], 0, p_attr=1, p_shape=1)
    for o in scenes[0].objects: assert {o.size, o.color, o.material, o.shape} <= content_words(full)
    assert tok.decode(tok(full)['input_ids']) == full

def test_content_words():
    assert content_words('There are three objects : a red metal cube , and Cylinders .') == {'red', 'metal', 'cube', 'cylinder'}
    assert content_words('') == set()
    assert {'a', 'the', 'there', 'is', 'object'} <= STOP_WORDS

def test_caption_loss_trains_prefix_only_and_sampling_is_seeded():
    lm = tiny_lm()
    ids, mask = lm.encode(['there is a red cube .', 'i see a small blue sphere and a cube .'])
    pre = torch.randn(2, lm.n_prefix, lm.d_model, requires_grad=True)
    lm.caption_loss(pre, ids, mask).backward()
    assert pre.grad is not None and pre.grad.abs().sum() > 0
    assert all(not p.requires_grad and p.grad is None for p in lm.model.parameters())
    a = lm.sample(pre.detach(), generator=torch.Generator().manual_seed(3))
    b = lm.sample(pre.detach(), generator=torch.Generator().manual_seed(3))
    assert a == b and len(a) == 2 and all(isinstance(s, str) for s in a)
    assert all('<ctx>' not in s and '<bos>' not in s for s in a)

def test_fit_trains_only_the_translator(scenes):
    lm = tiny_lm(seed=2)
    before = {k: v.clone() for k, v in lm.model.state_dict().items()}
    clf = as_classifier(TinyCNN(seed=4))
    clf_before = {k: v.clone() for k, v in clf.model.state_dict().items()}
    tex = TExplain(clf, lm=lm).fit(n_images=64, steps=40, batch_size=8, seed=0)
    after = lm.model.state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    assert all(torch.equal(v, clf.model.state_dict()[k]) for k, v in clf_before.items())
    assert isinstance(tex.translator, Translator) and tex.translator.linear.weight.abs().sum() > 0
    h = tex.history
    assert np.mean(h[-5:]) < np.mean(h[:5])  # the captioning loss went down
    # same seed -> same translator
    tex2 = TExplain(clf, lm=lm).fit(n_images=64, steps=40, batch_size=8, seed=0)
    assert torch.equal(tex.translator.linear.weight, tex2.translator.linear.weight)

def test_translator_is_one_affine_map():
    tr = Translator(6, 2, 4)
    z = torch.randn(5, 6)
    y = tr(z)
    assert y.shape == (5, 2, 4)
    # affine: T(a+b) - T(0) = (T(a) - T(0)) + (T(b) - T(0))
    zero = torch.zeros(1, 6)
    lhs = tr(z[:1] + z[1:2]) - tr(zero)
    rhs = tr(z[:1]) - tr(zero) + tr(z[1:2]) - tr(zero)
    assert torch.allclose(lhs, rhs, atol=1e-5)

def test_pool_features():
    f = torch.arange(2 * 3 * 2 * 2, dtype=torch.float32).view(2, 3, 2, 2)
    p = pool_features(f)
    assert p.shape == (2, 6)
    assert torch.equal(p[:, 3:], f.amax((2, 3))) and torch.allclose(p[:, :3], f.mean((2, 3)))

def test_explain_counts_and_errors(fitted, scenes):
    imgs = render(scenes[:6])
    w = fitted.explain(imgs, S=4, seed=1)
    assert len(w.texts) == 6 and all(len(t) == 4 for t in w.texts)
    assert w.texts == fitted.explain(imgs, S=4, seed=1).texts
    for k in set(w.classes.tolist()):
        c = w.counts(k)
        assert w.n_sentences(k) == 4 * int((w.classes == k).sum())
        assert all(0 < v <= w.n_sentences(k) for v in c.values())
        assert w.top(k, 3) == sorted(c.items(), key=lambda t: (-t[1], t[0]))[:3]
    for bad in (0, -2):
        with pytest.raises(ValueError, match='positive integer'): fitted.explain(imgs, S=bad)
    with pytest.raises(ValueError, match='positive integer'): fitted.sentences(imgs, S=0)
    with pytest.raises(ValueError, match='classes'): fitted.explain(imgs, S=2, classes=[0, 1])

def test_untrained_translator_and_missing_feature_layer():
    lm = tiny_lm()
    with pytest.raises(ValueError, match='fit'): TExplain(TinyCNN(), lm=lm).sentences(render([sample_scene(np.random.default_rng(1))]))
    flat = nn.Sequential(nn.Flatten(), nn.Linear(3 * 64 * 64, 2))
    with pytest.raises(ValueError, match='features_fn'): TExplain(flat, lm=lm)
    with pytest.raises(TypeError): TExplain(flat, lm=lm, features_fn=3)
    ok = TExplain(flat, lm=lm, features_fn=lambda x: x[:, :, ::8, ::8])
    assert ok.pooled(torch.rand(2, 3, 64, 64)).shape == (2, 6)

def test_words_words_and_compare_words():
    real = Words([['a red cube .'] * 4, ['a red sphere .'] * 4, ['a blue cube .'] * 4], [1, 1, 0])
    ctl = Words([['a blue cube .'] * 4, ['a red sphere .', 'a gray sphere .'] * 2, ['a blue cube .'] * 4], [1, 1, 0])
    assert real.counts(1) == {'red': 8, 'cube': 4, 'sphere': 4}
    assert real.rate('red', 1) == 1.0 and math.isclose(ctl.rate('red', 1), 2 / 8)
    rows = {r['word']: r for r in compare_words(real, ctl, k=1)}
    assert rows['sphere']['gap'] == 0 and not rows['sphere']['survives']
    assert rows['red']['gap'] == 0.75
    with pytest.raises(ValueError, match='same images'): compare_words(real, Words(ctl.texts[:2], [1, 1]), k=1)

def test_random_like_same_architecture_new_weights():
    clf = as_classifier(TinyCNN(seed=0))
    rnd = random_like(clf, seed=5)
    a, b = clf.model.state_dict(), rnd.model.state_dict()
    assert a.keys() == b.keys() and all(a[k].shape == b[k].shape for k in a)
    assert any(not torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(random_like(clf, 5).model.state_dict()['features.0.weight'], b['features.0.weight'])
    x = torch.rand(2, 3, 16, 16)
    assert rnd.features(x).shape == clf.features(x).shape

def test_control_uses_same_images_and_grouping(fitted, scenes):
    imgs = render(scenes[:5])
    ctl = fitted.control(seed=1, n_images=32, steps=3, batch_size=8)
    assert ctl.lm is fitted.lm and ctl.translator is not fitted.translator
    w = fitted.explain(imgs, S=2)
    wc = ctl.explain(imgs, S=2, classes=w.classes)
    rows = compare_words(w, wc, k=int(w.classes[0]), n=4)
    assert all(isinstance(r['survives'], bool) for r in rows)

def test_plot_words(fitted, scenes):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    w = fitted.explain(render(scenes[:4]), S=3)
    k = int(w.classes[0])
    fig, ax = plot_words(w, k, 5)
    assert ax.figure is fig
    fig2, ax2 = plt.subplots()
    assert plot_words(w, k, 5, kind='cloud', ax=ax2) == (fig2, ax2)
    with pytest.raises(ValueError, match='kind'): plot_words(w, k, kind='pie')
    plt.close('all')

def test_save_load_roundtrip(tmp_path, fitted, scenes):
    lm = pretrain_lm(tiny_lm(), steps=3, batch_size=4, n_scenes=600)
    save_lm(lm, 'lm', tmp_path)
    lm2 = load_lm('lm', tmp_path)
    ids, mask = lm.encode(['there is a red cube .'])
    pre = torch.zeros(1, lm.n_prefix, lm.d_model)
    assert torch.allclose(lm.caption_loss(pre, ids, mask), lm2.caption_loss(pre, ids, mask))
    save_translator(fitted, 'tr', tmp_path)
    tr, card = load_translator('tr', tmp_path)
    z = fitted.pooled(render(scenes[:3]))
    assert torch.allclose(tr(z), fitted.translator(z)) and card['arch'] == 'Translator'
    (tmp_path / 'tr.safetensors').write_bytes(b'corrupt')
    with pytest.raises(ValueError, match='sha256'): load_translator('tr', tmp_path)

SHIPPED = ('red_metal', 'cube_or_cyan', 'two_spheres', 'blue_biased')

@pytest.mark.skipif(not (WEIGHTS_DIR / 'texplain_lm.json').exists(), reason='texplain weights not built')
def test_shipped_lm_and_translators_load_and_match():
    from gift_nb.classifier import load_classifier
    lm = load_lm()
    card = json.loads((WEIGHTS_DIR / 'texplain_lm.json').read_text())
    assert card['n_params'] < 2_000_000 and card['metrics']['val_loss_hints'] < card['metrics']['val_loss_no_hint'] + 1e-6
    for name in SHIPPED:
        tex = TExplain(load_classifier(name), lm)
        assert tex.translator is not None, f"shipped translator for {name} missing or stale"
    total = sum(p.stat().st_size for p in WEIGHTS_DIR.glob('texplain_*'))
    assert total < 5_000_000
