"""GIFT explains one class k at a time: every hypothesis it verifies is about class k, for k != 1 and for a multi-class model."""
import pytest
from gift_nb.classifier import load_classifier
from gift_nb.pipeline import GIFT
from gift_nb.world import make_dataset

@pytest.mark.parametrize('name,k', [('blue_red_none', 2), ('red_metal', 0)])
def test_every_verified_hypothesis_is_about_class_k(name, k, tmp_path):
    clf = load_classifier(name)
    data = make_dataset(name, 8, seed=3, split='test')
    rep = GIFT(clf, k=k, n_verify=24, oracle=False, show_progress=False).run(data, run_dir=tmp_path / 'run')
    assert rep.verifications and {v.k for v in rep.verifications} == {k}
    assert {h.k for h in rep.hypotheses} == {k}
