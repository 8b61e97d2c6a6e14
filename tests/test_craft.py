"""Tests of gift_nb.baselines.craft: crops, NNLS, the Jansen estimator, the Craft explainer (shapes, errors, determinism,
planted importance, fidelity), the world purity measure on a shipped classifier, and gift_nb.baselines.craft_plus: concept trees,
implicit-differentiation maps, the multi-class explainer, and concept maps beyond torch.quantile's size limit."""
import numpy as np
import pytest
import torch
from torch import nn
import torch.nn.functional as F
from scipy.optimize import nnls as scipy_nnls

from gift_nb.baselines.craft import Craft, crop_central_objects, grid_boxes, grid_crops, world_purity
from gift_nb.baselines.craft_math import jansen_total_indices, nnls, sobol_design, total_sobol_indices

def tiny_model(seed=0):
    torch.manual_seed(seed)
    body = nn.Sequential(nn.Conv2d(3, 16, 5, stride=4, padding=2), nn.ReLU())
    top = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 3))
    return body, top

@pytest.fixture(scope='module')
def images():
    return torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(1))

def test_grid_covers_the_world_image_and_crops_match():
    b = grid_boxes(64, 64, 24)
    assert len(b) == 9 and b.max() + 24 == 62
    x = torch.rand(3, 3, 64, 64)
    c = grid_crops(x, 24)
    assert c.shape == (27, 3, 24, 24)
    i, (t, l) = 13, b[13 % 9]
    assert torch.equal(c[i], x[1, :, t:t + 24, l:l + 24])
    assert grid_crops(x, 24, size=64).shape == (27, 3, 64, 64)

def test_nnls_matches_scipy_and_is_non_negative():
    rng = np.random.default_rng(3)
    W, A = rng.random((8, 30)), rng.random((40, 30))
    U = nnls(A, W).numpy()
    ref = np.stack([scipy_nnls(W.T, a)[0] for a in A])
    assert U.min() >= 0
    np.testing.assert_allclose(U, ref, atol=1e-4)
    with pytest.raises(ValueError, match='same p'): nnls(A, W[:, :5])

def test_nnls_reconstruction_error_decreases_with_rank(images):
    body, top = tiny_model()
    errs = []
    for r in (1, 2, 4, 8):
        c = Craft(body, top, n_concepts=r, patch_size=16, k=0).fit(images)
        A = c.latent(images[:6]).permute(0, 2, 3, 1).reshape(-1, 16)
        U = c.transform(images[:6]).reshape(-1, r)
        assert U.min() >= 0
        errs.append(((A - U @ c.W) ** 2).sum().item() / (A ** 2).sum().item())
    assert all(a > b for a, b in zip(errs, errs[1:])), errs
    assert errs[-1] < 0.5 * errs[0]

def test_jansen_recovers_additive_and_ishigami_indices():
    a = np.array([1., 2., 3., 0.5])
    est = total_sobol_indices(lambda M: M @ a, 4, nb_design=2048)
    np.testing.assert_allclose(est, a ** 2 / (a ** 2).sum(), atol=0.02)
    est32 = total_sobol_indices(lambda M: M @ a, 4, nb_design=32)      # CRAFT's N still ranks them
    assert list(np.argsort(est32)) == [3, 0, 1, 2]
    def ishigami(M):
        x = (2 * M - 1) * np.pi
        return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])
    for s in ('halton', 'sobol', 'random'):
        np.testing.assert_allclose(total_sobol_indices(ishigami, 3, 8192, s), [0.5576, 0.4424, 0.2437], atol=0.04)

def test_design_layout_and_constant_output():
    X = sobol_design(3, 16)
    A, B, C = X[:16], X[16:32], X[32:].reshape(3, 16, 3)
    for i in range(3):
        assert np.array_equal(C[i][:, i], B[:, i])
        assert np.array_equal(np.delete(C[i], i, 1), np.delete(A, i, 1))
    assert np.array_equal(jansen_total_indices(np.ones(16 * 5), 16, 3), np.zeros(3))
    with pytest.raises(ValueError, match='N \\(r \\+ 2\\)'): jansen_total_indices(np.ones(10), 16, 3)
    with pytest.raises(ValueError, match='sampler'): sobol_design(3, 16, 'lhs')

def test_craft_shapes_determinism_and_importance(images):
    body, top = tiny_model()
    c1 = Craft(body, top, n_concepts=5, patch_size=16, k=2, batch_size=37).fit(images)
    c2 = Craft(body, top, n_concepts=5, patch_size=16, k=2).fit(images)
    assert c1.W.shape == (5, 16) and c1.crops_u.shape == (16 * 4, 5) and c1.crop_boxes.shape == (64, 3)
    assert torch.equal(c1.W, c2.W)
    assert c1.transform(images[:2]).shape == (2, 8, 8, 5)
    i1 = c1.estimate_importance(images[:4], nb_design=16)
    i2 = c2.estimate_importance(images[:4], nb_design=16)     # other batch size, same numbers
    np.testing.assert_allclose(i1, i2, rtol=1e-4, atol=1e-6)
    assert i1.shape == (5,) and c1.sobol_per_image.shape == (4, 5) and (i1 >= 0).all()
    assert c1.concept_maps(images[:3]).shape == (3, 5, 32, 32)
    assert c1.gradient_importance(images[:3]).shape == (3, 5)

def test_planted_concept_is_the_important_one_and_wins_fidelity():
    head = lambda a: torch.stack([torch.zeros(len(a)), a[:, 0].mean((1, 2))], 1)
    x = torch.rand(36, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    x[:10, 1] = 0; x[10:20, 0] = 0
    c = Craft(lambda im: im[:, :2], head, n_concepts=2, patch_size=16, k=1).fit(x[:20])
    c0 = int(c.W[:, 0].argmax())
    imp = c.estimate_importance(x[20:28])
    assert imp[c0] > 0.9 and imp[1 - c0] < 1e-4
    fid = c.concept_fidelity(x[28:])
    assert fid['sobol']['deletion_auc'] < fid['random']['deletion_auc']
    assert fid['sobol']['insertion_auc'] > fid['random']['insertion_auc']

def test_bad_inputs(images):
    body, top = tiny_model()
    with pytest.raises(ValueError, match='after a ReLU'): Craft(body[0], top, n_concepts=3, patch_size=16, k=0).fit(images)
    with pytest.raises(ValueError, match='larger than the number of crops'):
        Craft(body, top, n_concepts=9, patch_size=16, k=0).fit(images[:2])
    with pytest.raises(ValueError, match='smaller than patch_size'): Craft(body, top, patch_size=33, k=0).fit(images)
    with pytest.raises(ValueError, match='which class'): Craft(body, top, n_concepts=3, patch_size=16).fit(images)
    with pytest.raises(TypeError, match='callable'): Craft(body, 'head')
    with pytest.raises(RuntimeError, match='not fitted'): Craft(body, top).transform(images)
    with pytest.raises(ValueError, match='float tensor'): Craft(body, top, n_concepts=3, patch_size=16, k=0).fit(images[0])

def test_world_classifier_purity_and_top_concept():
    from gift_nb.classifier import load_classifier
    from gift_nb.world import make_dataset
    clf = load_classifier('two_spheres')
    x, _, scenes = make_dataset(clf.task, 160, 0, split='test')
    pos = (clf.predict(x) == 1).nonzero().flatten()[:60]
    c = Craft.from_classifier(clf, k=1, n_concepts=6, patch_size=24).fit(x[pos])
    sc = [scenes[i] for i in pos.tolist()]
    central = crop_central_objects(c, sc)
    assert len(central) == 60 * 9
    pur = world_purity(c, sc, clf.task.rule, n_top=10)
    assert pur['purity'].shape == (6,) and 0 < pur['base_rate'] < 1
    assert pur['purity'].max() >= 0.8                     # some concept is about spheres
    imp = c.estimate_importance(x[pos][:30])
    assert pur['purity'][int(np.argmax(imp))] >= 0.8      # and it is the most important one
    with pytest.raises(ValueError, match='scenes'): crop_central_objects(c, sc[:5])


# --- recursive CRAFT, implicit-differentiation maps, CraftMulti, large maps (gift_nb.baselines.craft_plus, nbs/baselines/10a_craft_plus) ---
from gift_nb.baselines.craft_math import row_percentile
from gift_nb.baselines.craft_plus import (CraftMulti, Layer, area_iou, body_layer, concept_spread, nnls_codes, pointing_game)

class _Halves(nn.Module):
    "Per channel, mean of the left and of the right half: [N, 2C, 1, 1]."
    def forward(self, x):
        w = x.shape[-1] // 2
        return torch.cat([x[..., :w].mean((2, 3)), x[..., w:].mean((2, 3))], 1)[..., None, None]

class _Merge(nn.Module):
    def forward(self, a): return a[:, :3] + a[:, 3:]

def _toy():
    "Red-left and green-right images; latent = mean colour; earlier layer = colour per half; class 1 reads red."
    x = torch.zeros(32, 3, 16, 16)
    for i in range(32): x[i, i % 2, :, 8 * (i % 2):8 * (i % 2) + 8] = 1
    head = lambda a: torch.stack([-a[:, 0].flatten(), a[:, 0].flatten()], 1)
    c = Craft(nn.Sequential(_Halves(), _Merge()), head, n_concepts=1, patch_size=16, k=1).fit(x)
    return c, x, [Layer('halves', _Halves(), _Merge())]

def test_refine_builds_a_tree_that_splits_the_mixed_concept():
    c, x, layers = _toy()
    tree = c.refine(x[::2], layers, n_crops=32, min_spread=0.1)
    assert [n.path for n in tree.walk()] == [(0,), (0, 0), (0, 1)]
    assert tree[0].spread > 0.1 and tree[0].layer == 'latent' and tree[0, 0].layer == 'halves'
    colours = [{int(x[int(i)].sum((1, 2)).argmax()) for i in tree[0, j].crops} for j in (0, 1)]
    assert sorted(map(sorted, colours)) == [[0], [1]]                       # one sub-concept per colour
    assert sorted(len(tree[0, j].crops) for j in (0, 1)) == [16, 16]
    red = 0 if colours[0] == {0} else 1
    assert tree[0, red].importance > 0.85 and tree[0, 1 - red].importance < 1e-6
    assert 'concept 0.1 [halves]' in str(tree) and tree[0, 0].note == 'no earlier layer'
    assert c.refine(x[::2], layers, n_crops=32, min_spread=0.99)[0].children == []   # homogeneous enough: a leaf
    assert concept_spread(torch.eye(3)) == pytest.approx(1.0) and concept_spread(torch.ones(4, 2)) == pytest.approx(0.0)

def test_refine_bad_inputs_are_one_line_errors_naming_the_fix():
    c, x, layers = _toy()
    signed = Layer('signed', lambda im: _Halves()(im) - 0.5, lambda a: _Merge()(a + 0.5))
    for call, match in ((lambda: c.refine(x, [signed], n_crops=32), 'cut the model after a ReLU'),
                        (lambda: c.refine(x[:2], layers, n_crops=2), 'too few to split'),
                        (lambda: c.refine(x, [Layer('other', _Halves(), lambda a: 2 * _Merge()(a))]), 'cut of the same model'),
                        (lambda: c.refine(x, 'body'), 'Layer objects')):
        with pytest.raises(ValueError, match=match) as e: call()
        assert '\n' not in str(e.value)

def test_body_layer_of_the_shipped_tinycnn_composes_to_its_features():
    from gift_nb.classifier import load_classifier
    clf = load_classifier('cube_or_cyan')
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    L = body_layer(clf, 7)
    with torch.no_grad():
        assert L.input_to_layer(x).shape == (2, 32, 16, 16)
        torch.testing.assert_close(L.layer_to_latent(L.input_to_layer(x)), clf.features(x), atol=1e-5, rtol=1e-5)
        assert body_layer(clf, 5).input_to_layer(x).min() < 0              # conv output: refine refuses it
    with pytest.raises(ValueError, match='at must be'): body_layer(clf, 0)

def test_nnls_codes_gradient_matches_finite_differences():
    rng = np.random.default_rng(1)
    W = torch.tensor(rng.random((5, 9)))
    a = torch.tensor(rng.random((4, 9)), requires_grad=True)
    g = torch.tensor(rng.standard_normal((4, 5)))
    u = nnls_codes(a, W)
    assert (u == 0).any() and (u > 0).any()
    grad, = torch.autograd.grad((u * g).sum(), a)
    f = lambda A: (np.stack([scipy_nnls(W.numpy().T, r)[0] for r in A]) * g.numpy()).sum()
    a0, eps, fd = a.detach().numpy(), 1e-6, np.zeros((4, 9))
    for i in range(4):
        for j in range(9):
            d = np.zeros_like(a0); d[i, j] = eps
            fd[i, j] = (f(a0 + d) - f(a0 - d)) / (2 * eps)
    np.testing.assert_allclose(grad.numpy(), fd, atol=1e-4)
    S = u[0] > 0                                                              # closed form on the active set
    Ws = W[S]
    np.testing.assert_allclose(grad[0].numpy(), (g[0, S] @ torch.linalg.inv(Ws @ Ws.T) @ Ws).numpy(), atol=1e-8)

def test_implicit_maps_point_at_the_concept_and_scores():
    c, x, _ = _toy()
    m = c.implicit_maps(x[:4])
    assert m.shape == (4, 1, 16, 16)
    for i in range(4):
        h = slice(8 * (i % 2), 8 * (i % 2) + 8)
        assert m[i, 0, :, h].sum() >= 0.99 * m[i, 0].sum()
    target = torch.zeros(4, 16, 16, dtype=torch.bool)
    for i in range(4): target[i, :, 8 * (i % 2):8 * (i % 2) + 8] = True
    assert pointing_game(m[:, 0], target).all()
    assert area_iou(m[:, 0], target).min() > 0.99
    with pytest.raises(ValueError, match='method must be one of'): c.implicit_maps(x[:1], method='ig')

def test_craft_multi_equals_per_class_crafts(images):
    body, top = tiny_model()
    labels = torch.arange(16) % 3
    multi = CraftMulti(body, top, classes=[0, 1, 2], n_concepts=3, patch_size=16, seed=2).fit(images, labels)
    imps = multi.estimate_importance(images, labels, nb_design=16)
    for k in range(3):
        one = Craft(body, top, n_concepts=3, patch_size=16, k=k, seed=2).fit(images[labels == k])
        torch.testing.assert_close(multi[k].W, one.W, atol=1e-4, rtol=1e-4)
        np.testing.assert_array_equal(multi[k].crop_boxes, one.crop_boxes)
        assert torch.equal(multi[k].crops, one.crops)
        np.testing.assert_allclose(imps[k], one.estimate_importance(images[labels == k], nb_design=16), atol=1e-4)
    with pytest.raises(ValueError, match='one class per image'): multi.fit(images, labels[:3])
    with pytest.raises(ValueError, match='have no images'): multi.fit(images, torch.zeros(16))

def test_concept_maps_beyond_torch_quantile_limit():
    big = torch.rand(1, 17_000_000, generator=torch.Generator().manual_seed(0))
    with pytest.raises(RuntimeError): torch.quantile(big, 0.9, dim=1)
    assert abs(float(row_percentile(big, 0.9)) - 0.9) < 1e-3
    x = torch.rand(3, 1001, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(row_percentile(x, 0.37), torch.quantile(x, 0.37, dim=1))
    # concept maps of one 4100×4100 image: 16.8 M values per concept, above torch.quantile's 16.7 M limit
    latent = lambda im: torch.cat([F.avg_pool2d(im[:, :1], 64), 0.5 * F.avg_pool2d(im[:, 1:2], 64)], 1)
    head = lambda a: torch.stack([a.mean((1, 2, 3)), -a.mean((1, 2, 3))], 1)
    c = Craft(latent, head, n_concepts=1, patch_size=64, k=0).fit(torch.rand(4, 2, 128, 128, generator=torch.Generator().manual_seed(2)))
    img = torch.rand(1, 2, 4100, 4100, generator=torch.Generator().manual_seed(3))
    m = c.concept_maps(img, percentile=90)
    assert m.shape == (1, 1, 4100, 4100)
    assert abs((m > 0).float().mean().item() - 0.1) < 0.01

def test_concept_maps_equal_the_global_percentile_and_nnls_is_exact(images):
    from gift_nb.baselines.craft_math import channel_percentile
    body, top = tiny_model()
    c = Craft(body, top, n_concepts=5, patch_size=16, k=2).fit(images)
    for q in (0, 50, 90, 99):   # the maps of one global sort of all upsampled values, as concept_maps computed them before
        U = c.transform(images)
        m = F.interpolate(U.permute(0, 3, 1, 2), size=(32, 32), mode='bilinear', align_corners=False).clamp_min(0)
        if q:
            thr = row_percentile(m.transpose(0, 1).reshape(5, -1), q / 100)
            m = torch.where(m > thr[None, :, None, None], m, torch.zeros(()))
        assert torch.equal(c.concept_maps(images, percentile=q), m)
    x = torch.rand(12, 4, 9, 9, generator=torch.Generator().manual_seed(5))
    for q in (0.0, 0.25, 0.9, 1.0):
        assert torch.equal(channel_percentile(x, q, chunk=81), row_percentile(x.transpose(0, 1).reshape(4, -1), q))
    # the codes satisfy the optimality (KKT) conditions: u >= 0, gradient >= 0, and = 0 where u > 0
    A = c.latent(images).permute(0, 2, 3, 1).reshape(-1, 16).double()
    U, W = nnls(A, c.W).double(), c.W.double()
    grad = U @ W @ W.T - A @ W.T
    scale = (A @ W.T).abs().max()
    assert U.min() >= 0 and grad.min() > -1e-5 * scale and grad[U > 0].abs().max() < 1e-5 * scale

def test_masked_logits_equal_the_model_on_decoded_masked_codes(images):
    body, top = tiny_model()
    spatial = Craft(body, top, n_concepts=5, patch_size=16, k=2).fit(images)
    pooled = Craft(lambda im: body(im).mean((2, 3)), lambda a: top[2](a), n_concepts=4, patch_size=16, k=1).fit(images)
    g = torch.Generator().manual_seed(0)
    for c in (spatial, pooled):
        U, r = c.transform(images[:5]), c.n_concepts
        for M in (torch.rand(13, r, generator=g), torch.rand(5, 13, r, generator=g)):   # shared, per image
            Mi = M if M.ndim == 3 else M.expand(5, -1, -1)
            want = torch.stack([c.latent_to_logit(c.decode(U[i][None] * (Mi[i][:, None, None] if U.ndim == 4 else Mi[i])))[:, c.k]
                                for i in range(5)]).detach()
            for bs in (4, 13, 100):   # masks split across calls, one image per call, several images per call
                c.batch_size = bs
                torch.testing.assert_close(c._masked_logits(U, M, c.k), want, atol=1e-5, rtol=1e-5)
