"""Tests of gift_nb.benchmark's scoring on synthetic reports and profiles (no GIFT run: notebook 20 runs one)."""
import math
import pytest

from gift_nb.benchmark import BenchResult, RuleIndex, check_task, run_benchmark, score_run
from gift_nb.core import Hypothesis, Verification
from gift_nb.oracle import OracleTable, decide
from gift_nb.pipeline import Report
from gift_nb.world import Task, at_least, concept, exists

RED, METAL = exists(concept(color='red')), exists(concept(material='metal'))
RED_METAL = exists(concept(color='red', material='metal'))

def row(rule, pns, half=0.02, n=2000, k=1):
    ci = (max(0., pns - half), min(1., pns + half))
    status, reason = decide(ci, 0.8, n)
    return Verification(hypothesis=str(rule), rule=rule.to_json(), k=k, n=n, pns=pns, pns_ci=ci, cace=pns, cace_ci=ci,
                        status=status, reason=reason, threshold=0.8)

PROFILE = OracleTable([row(RED_METAL, 0.99), row(RED, 0.70), row(METAL, 0.40), row(RED_METAL | RED, 0.70, n=200, half=0.06)],
                      {'n_scenes': 2000})

def report(verified, oracle=()):
    "A Report of verified (rule, pns) pairs; `oracle`: (rule, pns) rows of the run's own oracle stage."
    hs = [Hypothesis(k=1, text=str(r), rule=r.to_json()) for r, _ in verified]
    vs = [row(r, p, half=0.03, n=200) for r, p in verified]
    orc = [{'id': f"k1:{r}", 'hypothesis': str(r), 'pns': p, 'pns_ci': [p - 0.05, p + 0.05], 'n': 500} for r, p in oracle]
    return Report(hs, vs, meta={'k': 1}, oracle=orc, timings={'counterfactuals': 1.0, 'verification': 2.0})

def test_equivalent_top_is_right_even_in_another_form():
    same = exists(concept(color='red', material='metal')) & RED   # equivalent to RED_METAL
    s = score_run(report([(same, 0.99), (RED, 0.7)]), PROFILE)
    assert s['verdict'] == 'equivalent' and s['right'] and s['false_acceptances'] == []
    assert s['recall'] == 1.0 and s['oracle_top'] == str(RED_METAL)

def test_wrong_top_and_false_acceptance():
    # GIFT accepts 'red' (oracle: 0.70 [0.68, 0.72], below 0.8): a false acceptance and a wrong top
    s = score_run(report([(RED, 0.9)]), PROFILE)
    assert s['verdict'] == 'wrong' and not s['right'] and s['false_acceptances'] == [str(RED)]
    assert s['recall'] == 0.0 and not s['oracle_top_proposed']
    assert s['stage3_top'] == str(RED) and s['stage3_verdict'] == 'wrong'

def test_tied_with_the_top_through_the_runs_oracle():
    # a rule the profile lacks, whose oracle P̂NS (from the run's oracle stage) agrees with the top rule's
    other = at_least(1, concept(color='red', material='metal', size='large')) | RED_METAL
    s = score_run(report([(other, 0.97)], oracle=[(other, 0.97)]), PROFILE)
    assert s['verdict'] in ('equivalent', 'tied') and s['right']

def test_none_accepted_and_screened_rows_never_top():
    s = score_run(report([(METAL, 0.4)]), PROFILE)
    assert s['verdict'] == 'none accepted' and s['n_accepted'] == 0 and s['gift_top'] is None
    assert s['pns_abs_error'] == pytest.approx(0.0)

def test_summary_counts_rows_and_targets():
    rows = [dict(task='t', k=1, status='scored', shape='x', rule='r', n_accepted=2, false_acceptances=['a'], right=True,
                 verdict='equivalent', recall=1.0, pns_abs_error=0.01, timings={'verification': 1.0}, wall=3.0),
            dict(task='u', k=1, status='scored', shape='x', rule='r', n_accepted=2, false_acceptances=[], right=False,
                 verdict='wrong', recall=0.5, pns_abs_error=0.03, timings={'verification': 2.0}, wall=4.0),
            dict(task='v', k=1, status='not scored: accuracy 0.900 below the floor 0.97', shape='x', rule='r')]
    s = BenchResult(rows).summary()
    assert s['scored'] == 2 and s['top_right'] == 0.5 and s['false_acceptance_rate'] == 0.25
    assert s['not_scored'] == ['v (class 1)'] and s['targets']['top_right'] == (0.9, False)
    assert s['seconds'] == {'verification': 3.0} and s['recall'] == 0.75

def test_bad_input_fails_before_any_run(tmp_path):
    with pytest.raises(ValueError, match='unknown task'): run_benchmark(['red_metal', 'nope'], out=tmp_path)
    with pytest.raises(ValueError, match='cannot hold in the world'): check_task(Task('x', RED & ~RED))
    assert not list(tmp_path.iterdir())

def _bench(variant, n, right, stage3, fa=0):
    "A BenchResult of two scored rows: `right` and `stage3` of them right, `fa` false acceptances."
    rows = [dict(task=t, k=1, status='scored', shape='x', rule='r', n_accepted=1, false_acceptances=['h'] * (i < fa), right=i < right,
                 verdict='equivalent' if i < right else 'wrong', stage3_verdict='equivalent' if i < stage3 else 'wrong', recall=1.0,
                 pns_abs_error=0.0, timings={'counterfactuals': 10.0, 'verification': 2.0, 'oracle': 1.0}, wall=13.0)
            for i, t in enumerate(('a', 'b'))]
    return BenchResult(rows, dict(variant=variant, n=n), dict(wall=30.0))

def test_ablation_rows_order_and_no_verification_line():
    from gift_nb.benchmark import ablation_rows, format_ablations
    runs = [_bench('default', 16, 1, 1), _bench('no captions', 64, 1, 0, fa=1), _bench('default', 64, 2, 1), _bench('default', 256, 2, 2)]
    rows = ablation_rows(runs)
    assert [(r['run'], r['n']) for r in rows] == [('default', 64), ('no verification', 64), ('no captions', 64), ('default', 16), ('default', 256)]
    d, nv, nc = rows[0], rows[1], rows[2]
    assert (d['top_right'], d['stage3_right'], d['seconds'], d['wall']) == (1.0, 0.5, 26.0, 30.0)
    assert nv['top_right'] == 0.5 and nv['accepted'] is None and nv['seconds'] == 20.0 and nv['wall'] is None
    assert (nc['top_right'], nc['stage3_right'], nc['false_acceptances'], nc['accepted']) == (0.5, 0.0, 1, 2)
    text = format_ablations(rows)
    assert 'no verification' in text and '1 / 2' in text and '50%' in text
