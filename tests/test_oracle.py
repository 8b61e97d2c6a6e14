"""Tests of gift_nb.oracle: estimators, candidate sets, oracle runs (ideal and trained classifiers), shipped tables."""
import json, math
import numpy as np
import pytest
import torch

from gift_nb.oracle import (OracleTable, agreement, all_concepts, bootstrap_ci, candidate_rules, decide, effect_metrics,
                            oracle_effects, oracle_scenes, shipped_oracle, wilson_ci)
from gift_nb.world import at_least, concept, equivalent, exists, get_task, make_scenes

SHIPPED = ('red_metal', 'cube_or_cyan', 'two_spheres', 'blue_biased')

def test_wilson_known_values_and_edges():
    lo, hi = wilson_ci(8, 10)
    assert abs(lo - 0.4902) < 1e-3 and abs(hi - 0.9433) < 1e-3
    lo, hi = wilson_ci(0, 50)
    assert lo == 0 and 0.06 < hi < 0.08
    assert all(math.isnan(v) for v in wilson_ci(0, 0))

def test_bootstrap_covers_the_mean_and_is_seeded():
    v = np.random.default_rng(1).binomial(1, 0.3, 3000).astype(float)
    lo, hi = bootstrap_ci(v, seed=4)
    assert lo < v.mean() < hi and hi - lo < 0.05
    assert bootstrap_ci(v, seed=4) == (lo, hi)

def test_effect_metrics_by_hand():
    # 4 items, class 1; originals: 2 predicted 1, 2 predicted 0
    P = lambda *p1: np.array([[1 - p, p] for p in p1])
    m = effect_metrics(P(.9, .8, .2, .1), P(.9, .7, .6, .4), P(.3, .6, .2, .1), k=1, n_boot=50)
    # do1 predicted 1: T T T F ; do0 predicted 1: F T F F -> PNS = (T,F)+(T,T)x+(T,F)+(F,F)x = 2/4
    assert m['pns'] == 0.5 and m['n'] == 4
    assert math.isclose(m['cace'], np.mean([.6, .1, .4, .3]))
    assert (m['ps'], m['ps_n']) == (0.5, 2)      # originals 3,4 (class 0): do1 -> T, F
    assert (m['pn'], m['pn_n']) == (0.5, 2)      # originals 1,2 (class 1): do0 -> not 1: T, F

def test_decide():
    assert decide((0.85, 0.9))[0] == 'accepted'
    assert decide((0.5, 0.79))[0] == 'rejected'
    assert decide((0.7, 0.9))[0] == 'inconclusive'
    assert decide((math.nan, math.nan), n=0)[0] == 'unverifiable'
    assert decide((0.85, 0.9), threshold=0.9)[0] == 'inconclusive'

def test_all_concepts():
    cs = all_concepts(2)
    assert len(cs) == 87 and len(set(cs)) == 87
    assert concept(color='red', material='metal') in cs and concept(shape='cube') in cs
    with pytest.raises(ValueError): all_concepts(0)

def test_ideal_classifier_profile():
    task = get_task('two_spheres')
    scenes = oracle_scenes(task, 150, seed=3)
    tab = oracle_effects(task.rule, [exists(concept(shape='sphere')), task.rule, exists(concept(color='red'))], scenes)
    assert equivalent(tab.rules()[0], task.rule)
    top = tab.top()
    assert top.pns == 1 and top.status == 'accepted' and top.n == 150 and top.n_failed == 0
    red = tab.find(exists(concept(color='red')))
    assert red.pns == 0 and red.cace == 0 and red.status == 'rejected'
    assert [r.pns_ci[0] for r in tab] == sorted((r.pns_ci[0] for r in tab), reverse=True)

def test_empty_rules_and_failures():
    scenes = oracle_scenes('red_metal', 20, seed=1)
    assert len(oracle_effects(get_task('red_metal').rule, [], scenes)) == 0
    impossible = exists(concept(color='red')) & ~exists(concept(color='red'))
    tab = oracle_effects(get_task('red_metal').rule, [impossible], scenes)
    assert tab.top().n_failed == 20 and tab.top().n == 0 and tab.top().status == 'unverifiable'
    with pytest.raises(TypeError, match='Rule'): oracle_effects(get_task('red_metal').rule, ['red'], scenes)

def test_oracle_is_deterministic_and_round_trips(tmp_path):
    task = get_task('cube_or_cyan')
    scenes = oracle_scenes(task, 60, seed=2)
    rules = [exists(concept(shape='cube')), exists(concept(color='cyan')), task.rule]
    a, b = oracle_effects(task.rule, rules, scenes, seed=5), oracle_effects(task.rule, rules, scenes, seed=5)
    assert [r.to_dict() for r in a] == [r.to_dict() for r in b]
    a.save(tmp_path / 't.json')
    c = OracleTable.load(tmp_path / 't.json')
    assert [r.to_dict() for r in c] == [r.to_dict() for r in a] and c.meta == a.meta
    assert all(x['agrees'] for x in agreement(a, c))
    assert 'P̂NS' in a.format() and '<table>' in a._repr_html_()
    fig, ax = a.plot(3)
    assert len(ax.patches) == 3

def test_candidate_rules_contain_task_bias_and_combinations():
    rules = candidate_rules('blue_biased', n_probe=60)
    texts = [str(r) for r in rules]
    assert texts[0] == 'there is a blue object'
    assert str(get_task('blue_biased').bias.rule) in texts
    assert sum(t.startswith('there are at least 2') for t in texts) == 5
    assert 87 + 1 <= len(rules) <= 87 + 1 + 1 + 5 + 10
    assert len({json.dumps(r.to_json(), sort_keys=True) for r in rules}) == len(rules)

def test_trained_classifier_oracle_follows_rule():
    from gift_nb.classifier import load_classifier
    clf = load_classifier('red_metal')
    scenes = oracle_scenes('red_metal', 80, seed=9)
    tab = oracle_effects(clf, [exists(concept(color='red')), clf.task.rule, exists(concept(shape='cube'))], scenes)
    assert tab.top().hypothesis == str(clf.task.rule) and tab.top().pns_ci[0] > 0.85

@pytest.mark.parametrize('name', SHIPPED)
def test_shipped_tables(name):
    tab = shipped_oracle(name)
    task = get_task(name)
    assert tab.meta['n_scenes'] == 10_000 and len(tab) >= 88
    assert all(r.n + r.n_failed == 10_000 for r in tab)
    if task.bias is None:
        assert equivalent(tab.rules()[0], task.rule), tab.top().hypothesis
    else:
        b = tab.find(task.bias.rule)
        assert b is not None and b.ps_ci[0] > 0.1 and b.pns_ci[0] > 0.05, b  # the bias has a measurable effect
        assert tab.rules()[0] == task.rule
