"""Tests of gift_nb.classifier: the wrapper's contract, errors, training, saving and the shipped classifiers."""
import time
import numpy as np
import pytest
import torch
from torch import nn

from gift_nb.classifier import (Classifier, TinyCNN, as_classifier, augment, check_images, check_logits, evaluate,
                                image_preprocess, list_classifiers, load_classifier, save_classifier, train_classifier)
from gift_nb import testing
from gift_nb.testing import random_images, tiny_vit_classifier
SmallNet = testing.TinyCNN

SHIPPED = ('red_metal', 'cube_or_cyan', 'two_spheres', 'blue_biased')

def test_probabilities_features_head_consistent():
    clf = as_classifier(SmallNet(n_classes=3), class_names=list('abc'), batch_size=3)
    x = random_images(10, 16)
    p = clf(x)
    assert p.shape == (10, 3) and p.dtype == torch.float32
    assert torch.allclose(p.sum(1), torch.ones(10), atol=1e-6)
    f = clf.features(x)
    assert f.ndim == 4 and (f >= 0).all()
    assert torch.allclose(clf.head(f).softmax(1), p, atol=1e-6)
    assert torch.equal(clf.predict(x), p.argmax(1))

def test_batching_does_not_change_results():
    x = random_images(37, 16)
    a = as_classifier(SmallNet(), batch_size=4)(x)
    b = as_classifier(SmallNet(), batch_size=1000)(x)
    assert torch.allclose(a, b, atol=1e-6)

def test_one_logit_becomes_two_classes():
    torch.manual_seed(0)
    lin = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 1))
    x = random_images(5, 8)
    p = as_classifier(lin)(x)
    assert p.shape == (5, 2)
    assert torch.allclose(p[:, 1], lin(x).flatten().sigmoid(), atol=1e-6)

def test_probs_output_mode():
    m = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 4), nn.Softmax(1))
    x = random_images(3, 8)
    assert torch.allclose(as_classifier(m, output='probs')(x), m(x), atol=1e-5)

@pytest.mark.parametrize('bad, msg', [
    (lambda x: (x * 255).byte(), 'divide by 255'),
    (lambda x: x[0], 'images[None]'),
    (lambda x: x.permute(0, 2, 3, 1), 'permute'),
    (lambda x: x * 2 - 1, '[0,1]'),
    (lambda x: x.masked_fill(x > .5, float('nan')), 'NaN'),
    (lambda x: x.tolist(), 'tensor or numpy'),
])
def test_bad_images_raise_clear_errors(bad, msg):
    clf = as_classifier(SmallNet())
    with pytest.raises((ValueError, TypeError), match=None) as e:
        clf(bad(random_images(2, 8)))
    assert msg in str(e.value)

def test_wrong_class_count_names_output_shape():
    with pytest.raises(ValueError, match=r'\(6, 3\)'):
        as_classifier(SmallNet(n_classes=3), class_names=['a', 'b'])(random_images(6, 8))

def test_wrong_output_shape_nan_and_failing_model():
    x = random_images(4, 8)
    with pytest.raises(ValueError, match=r'output has shape \(4, 2, 6, 6\)'):
        as_classifier(nn.Conv2d(3, 2, 3))(x)
    with pytest.raises(ValueError, match='NaN'):
        as_classifier(lambda t: torch.full((len(t), 2), float('nan')))(x)
    with pytest.raises(RuntimeError, match=r'failed on images of shape \(4, 3, 8, 8\)'):
        as_classifier(nn.Linear(5, 2))(x)
    with pytest.raises(ValueError, match='shape'):
        as_classifier(lambda t: torch.zeros(len(t) + 1, 2))(x)

def test_class_count_fixed_after_first_call():
    outs = iter([torch.zeros(2, 2), torch.zeros(2, 3)])
    clf = as_classifier(lambda t: next(outs))
    clf(random_images(2, 8))
    with pytest.raises(ValueError, match=r'\(2, 3\)'): clf(random_images(2, 8))

def test_empty_batch():
    assert as_classifier(SmallNet(), class_names=['a', 'b'])(torch.zeros(0, 3, 8, 8)).shape == (0, 2)

def test_gradients_flow_when_asked():
    clf = as_classifier(SmallNet())
    x = random_images(2, 8).requires_grad_()
    clf(x)[:, 1].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0

def test_as_classifier_is_idempotent_and_rejects_non_callables():
    clf = as_classifier(SmallNet())
    assert as_classifier(clf) is clf
    with pytest.raises(TypeError): as_classifier(42)

def test_transformers_vit():
    vit = tiny_vit_classifier(num_labels=3, image_size=32)
    with pytest.warns(UserWarning, match='preprocess'):
        clf = as_classifier(vit)
    x = random_images(5, 64)
    p = clf(x)
    assert p.shape == (5, 3) and clf.class_names == ['class_0', 'class_1', 'class_2']
    ref = vit(pixel_values=image_preprocess(32, (.5,) * 3, (.5,) * 3)(x)).logits.softmax(1)
    assert torch.allclose(p, ref, atol=1e-5)
    f = clf.features(x)
    assert f.shape == (5, 64, 1, 1) and (f >= 0).all()
    assert torch.allclose(clf.head(f).softmax(1), p, atol=1e-5)

def test_tinycnn_is_small_and_checks_size():
    net = TinyCNN()
    assert sum(p.numel() for p in net.parameters()) < 60_000
    clf = as_classifier(net)
    assert clf.features(torch.rand(2, 3, 64, 64)).shape == (2, 64, 8, 8)
    with pytest.raises(ValueError, match='64×64'): clf(torch.rand(1, 3, 32, 32))

def test_augment_is_seeded_and_in_range():
    x = torch.rand(4, 3, 8, 8)
    a = augment(x, 0.5, True, torch.Generator().manual_seed(1))
    assert torch.equal(a, augment(x, 0.5, True, torch.Generator().manual_seed(1)))
    assert a.min() >= 0 and a.max() <= 1 and not torch.equal(a, x)

def test_training_is_deterministic_and_saves(tmp_path):
    kw = dict(n_train=256, n_val=64, epochs=1, batch_size=64, seed=3)
    a, b = train_classifier('red_metal', **kw), train_classifier('red_metal', **kw)
    for (k, v), w in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(v, w), k
    assert a.task.name == 'red_metal' and len(a.history) == 1
    save_classifier(a, 'tiny', tmp_path)
    assert list_classifiers(tmp_path) == ['tiny']
    c = load_classifier('tiny', tmp_path)
    x = torch.rand(4, 3, 64, 64)
    assert torch.allclose(c(x), a(x), atol=1e-6) and c.task == a.task
    (tmp_path / 'tiny.safetensors').write_bytes(b'x' + (tmp_path / 'tiny.safetensors').read_bytes()[1:])
    with pytest.raises(ValueError, match='sha256'): load_classifier('tiny', tmp_path)
    with pytest.raises(FileNotFoundError, match='make weights'): load_classifier('nope', tmp_path)

@pytest.mark.parametrize('name', SHIPPED)
def test_shipped_classifiers_load_fast_and_are_accurate(name):
    t = time.perf_counter()
    clf = load_classifier(name)
    assert time.perf_counter() - t < 1.0
    assert clf.task.name == name and clf.card['sha256']
    acc = evaluate(clf, n=400, seed=5)['accuracy']
    assert acc >= 0.94, acc  # the cards quote the figures on 4,000 images
    m = clf.card['metrics']
    assert m['test']['accuracy'] >= (0.97 if name == 'two_spheres' else 0.98), m  # unbiased test split, 4,000 images
    if clf.task.bias is not None:
        assert m['biased']['accuracy'] >= 0.98, m
        assert clf.card['train']['color_shuffle'] > 0
