"""Tests of gift_nb.craft: crops, NNLS, the Jansen estimator, the Craft explainer (shapes, errors, determinism,
planted importance, fidelity) and the world purity measure on a shipped classifier."""
import numpy as np
import pytest
import torch
from torch import nn
from scipy.optimize import nnls as scipy_nnls

from gift_nb.craft import (Craft, crop_central_objects, grid_boxes, grid_crops, jansen_total_indices, nnls,
                           sobol_design, total_sobol_indices, world_purity)

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
