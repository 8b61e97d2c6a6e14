"""Tests of gift_nb.seed_bench: the verdict on hand-built rules, the readings of masks and words, names, and one small run."""
import json
from pathlib import Path
import pytest
import torch

from gift_nb.seed_bench import (METHODS, SeedBenchResult, attribute_shares, check_names, common_attributes,
                                highlighted_objects, run_seed_bench, statable, verdict, words_concept)
from gift_nb.world import Obj, at_least, concept, exists, rule_from_json

RED, BLUE, GRAY = concept(color='red'), concept(color='blue'), concept(color='gray')
SMS = concept(size='small', material='metal', shape='sphere')
RESULTS = Path(__file__).resolve().parents[1] / 'nbs/results/bench/seeds.json'

@pytest.mark.parametrize('rule,kind', [
    (exists(SMS), 'all'), (exists(RED) & exists(BLUE), 'part'), (exists(RED) & ~exists(BLUE), 'part'),
    (at_least(2, concept(shape='sphere')), 'none'), (at_least(3, concept(shape='sphere')), 'none'),
    (exists(concept(shape='cube')) | exists(concept(color='cyan')), 'none'), (~exists(GRAY), 'none'),
    (~((exists(RED) & ~exists(BLUE)) | exists(BLUE)), 'none')])
def test_statable_follows_the_structure(rule, kind):
    assert statable(rule)[0] == kind
    if kind == 'none': assert verdict({'color': 'red'}, rule) == 'cannot express' == verdict({}, rule)

def test_verdict_one_concept():
    r = exists(SMS)
    assert verdict({'size': 'small', 'material': 'metal', 'shape': 'sphere'}, r) == 'yes'
    assert verdict({'shape': 'sphere', 'material': 'metal'}, r) == 'partly'
    assert verdict({'size': 'small', 'material': 'metal', 'shape': 'sphere', 'color': 'red'}, r) == 'partly'
    assert verdict({'shape': 'sphere', 'color': 'red'}, r) == 'no'
    assert verdict({}, r) == 'no'

def test_verdict_two_objects():
    r = exists(RED) & exists(BLUE)
    assert verdict({'color': 'red'}, r) == verdict({'color': 'blue', 'shape': 'cube'}, r) == 'partly'   # never 'yes'
    assert verdict({'color': 'gray'}, r) == 'no'
    r = exists(RED) & ~exists(BLUE)
    assert verdict({'color': 'red'}, r) == 'partly' and verdict({'color': 'blue'}, r) == 'no'

def test_common_attributes_and_shares():
    objs = [Obj('cube', 'red', 'large', 'metal')] * 3 + [Obj('sphere', 'blue', 'small', 'metal'), None]
    assert attribute_shares(objs)['material'] == ('metal', 0.8)
    assert common_attributes(objs) == {'material': 'metal'}
    assert common_attributes(objs, 0.6) == {'shape': 'cube', 'color': 'red', 'size': 'large', 'material': 'metal'}
    with pytest.raises(ValueError, match='min_share'): common_attributes(objs, 0.4)

def test_highlighted_objects_by_mean_cover():
    om = torch.zeros(2, 6, 6, dtype=torch.bool); om[0, :2, :2] = True; om[1, 2:, 2:] = True   # object 1 is four times larger
    mask = torch.zeros(6, 6); mask[:2, :2] = 1.0; mask[2:4, 2:] = 0.4                           # more mass on 1, more cover on 0
    assert highlighted_objects(mask, om, ['small', 'big']) == ['small']
    assert highlighted_objects(mask, om, ['small', 'big'], rel=0.1) == ['small', 'big']
    assert highlighted_objects(mask, om[:0], []) == []

def test_words_concept():
    assert words_concept({'metal': 0.84, 'small': 0.83, 'large': 0.82, 'cube': 0.76, 'red': 0.41}) == \
        {'shape': 'cube', 'size': 'small', 'material': 'metal'}
    assert words_concept({'red': 0.41}) == {} and words_concept({'red': 0.41}, min_rate=0.4) == {'color': 'red'}

def test_unknown_names_fail_before_running():
    with pytest.raises(ValueError, match='unknown method'): run_seed_bench(['red_metal'], methods=['craft', 'gift'])
    with pytest.raises(ValueError, match='unknown task'): run_seed_bench(['red_metal', 'purple_cows'])
    assert check_names(['red_metal'], METHODS) == (['red_metal'], list(METHODS))

def test_small_run_is_reproducible(tmp_path):
    a = run_seed_bench(['red_metal'], methods=['ltx', 'texplain'], n=6, out=tmp_path / 's.json')
    b = run_seed_bench(['red_metal'], methods=['ltx', 'texplain'], n=6)
    drop = lambda rs: [{k: v for k, v in r.items() if k != 'seconds'} for r in rs]
    assert drop(a.rows) == drop(b.rows) and len(a.rows) == 2
    assert SeedBenchResult.load(tmp_path / 's.json').rows == a.rows
    assert 'red_metal' in a.format() and set(a.summary()) == {'ltx', 'texplain'}

def test_committed_result_is_consistent():
    res = SeedBenchResult.load(RESULTS)
    assert len({(r['task'], r['k']) for r in res.rows}) == 14 and set(res.methods) == set(METHODS)
    for r in res.rows: assert verdict(r['found'], rule_from_json(r['oracle_rule'])) == r['verdict']
