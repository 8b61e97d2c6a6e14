"""Tests of the no-captions proposer (gift_nb.hypotheses.PairStatsProposer): pixel statistics of rendered objects, rules
evaluated on the objects seen, hypotheses from image pairs alone, and how the pipeline hands it the pairs."""
import warnings
from dataclasses import replace
import numpy as np
import pytest
import torch

from gift_nb.core import Counterfactual
from gift_nb.pair_stats import PairStatsProposer, blob_holds, oracle_flip_pairs, pair_blobs, pixel_colors
from gift_nb.world import COLORS, Obj, Scene, concept, equivalent, exists, make_scenes, render, rule_from_json, sample_scene

def _one(**attrs):
    return Scene(objects=(Obj(**{'shape': 'cube', 'color': 'gray', 'size': 'large', 'material': 'rubber', **attrs}),))

def test_pixel_colors_reads_each_objects_colour():
    rng = np.random.default_rng(1)
    for _ in range(10):
        s = sample_scene(rng, 3)
        img, masks = render(s, return_masks=True)
        lab, white, shine = pixel_colors(img[0])
        assert lab.shape == white.shape == shine.shape == (64, 64)
        for o, m in zip(s.objects, masks[0].numpy()):
            if m.sum() < 20: continue
            assert COLORS[np.bincount(lab[m] + 1, minlength=len(COLORS) + 1)[1:].argmax()] == o.color
    lab, _, _ = pixel_colors(render(Scene())[0])
    assert (lab == -1).all()   # the empty ground: no object

def test_pair_blobs_single_objects():
    for color in COLORS:
        for size in ('small', 'large'):
            for material in ('rubber', 'metal'):
                b = pair_blobs(render(_one(color=color, size=size, material=material, shape='sphere'))[0])
                assert [x['color'] for x in b] == [color], (color, size, material, b)   # one object, of its colour
                assert b[0]['size'] == size, (color, size, material, b)
                if color != 'gray' and size == 'large': assert b[0]['material'] == material, (color, size, material, b)

def test_pair_blobs_accuracy_on_random_scenes():
    rng, n, right = np.random.default_rng(4), 0, {a: 0 for a in ('color', 'size', 'material', 'shape')}
    false_gray = 0
    for _ in range(40):
        s = sample_scene(rng); img, masks = render(s, return_masks=True); blobs = pair_blobs(img[0])
        false_gray += any(b['color'] == 'gray' for b in blobs) and not any(o.color == 'gray' for o in s.objects)
        for o, m in zip(s.objects, masks[0].numpy()):
            mine = [b for b in blobs if b['color'] == o.color]
            if m.sum() < 20: continue
            assert mine, (o, blobs)   # every visible object is seen, in its colour
            b = max(mine, key=lambda b: b['area']); n += 1
            for a in right: right[a] += b[a] == getattr(o, a)
    acc = {a: v / n for a, v in right.items()}
    assert acc['color'] == 1 and acc['size'] > 0.8 and acc['material'] > 0.75 and acc['shape'] > 0.45, acc
    assert false_gray <= 2
    assert pair_blobs(render(Scene())[0]) == []
    with pytest.raises(ValueError, match='one RGB image'): pair_blobs(np.zeros((2, 64, 64)))

def test_blob_holds():
    seen = [dict(color='red', material='metal', size='large', shape='cube'), dict(color='red', material='rubber', size='small', shape='sphere')]
    assert blob_holds(exists(concept(color='red', material='metal')), seen)
    assert not blob_holds('there is a red metal sphere', seen)
    assert blob_holds('there are at least 2 red objects', seen) and not blob_holds('there are at least 3 red objects', seen)
    assert blob_holds('there is no gray object and (there is a blue object or there is a small sphere)', seen)
    assert not blob_holds('there is a red object', [])

def _pairs(scenes_before, scenes_after, rule):
    "Counterfactual records of exact edits, directions given by an ideal classifier of `rule`."
    recs = []
    for i, (a, b) in enumerate(zip(scenes_before, scenes_after)):
        pa, pb = int(rule.holds([a])[0]), int(rule.holds([b])[0])
        recs.append(Counterfactual(id=f"p{i}", source=i, image=i, k=1, probs_before=[1. - pa, float(pa)], probs_after=[1. - pb, float(pb)],
                                   pred_before=pa, pred_after=pb, target=pb, direction=f"{pa}->{pb}", valid=pa != pb))
    return recs, render(list(scenes_before)), render(list(scenes_after))

def test_proposer_finds_a_colour_and_material_rule_from_pixels_only():
    rule = exists(concept(color='red', material='metal'))
    rng = np.random.default_rng(0)
    before, after = [], []
    for i in range(24):
        base = sample_scene(rng, 2, color=('blue', 'green', 'yellow'))
        o = base.objects[0]
        red = replace(base, objects=(replace(o, color='red', material='metal'),) + base.objects[1:])
        other = replace(base, objects=(replace(o, color='red', material='rubber') if i % 3 else replace(o, color='cyan', material='metal'),) + base.objects[1:])
        before.append(red if i % 2 else other); after.append(other if i % 2 else red)
    recs, x, xc = _pairs(before, after, rule)
    prop = PairStatsProposer(show_progress=False)
    hs = prop(recs, x, xc)
    assert hs and equivalent(rule_from_json(hs[0].rule), rule), [h.text for h in hs[:5]]
    assert hs[0].source == 'pairs' and hs[0].provenance['pairs'] and 'captions' not in hs[0].provenance
    assert prop.log['pairs'] == {'read': 24, 'flips': 24}
    again = PairStatsProposer(show_progress=False)(recs, x, xc)   # same pairs -> same hypotheses
    assert [(h.text, h.score) for h in again] == [(h.text, h.score) for h in hs]
    dicts = PairStatsProposer(show_progress=False)([r.to_dict() for r in recs], x, xc)   # records as dicts
    assert [h.text for h in dicts] == [h.text for h in hs]

def test_proposer_on_a_shipped_classifier():
    from gift_nb.classifier import load_classifier
    recs, x, xc = oracle_flip_pairs(load_classifier('yellow'), make_scenes('yellow', 40, 1, 'test')[0], seed=1)
    assert recs and len(recs) == len(x) == len(xc)
    assert all(r.pred_before != r.pred_after and r.direction in ('1->0', '0->1') for r in recs)
    hs = PairStatsProposer(show_progress=False)(recs, x, xc)
    assert equivalent(rule_from_json(hs[0].rule), exists(concept(color='yellow'))), [h.text for h in hs[:5]]

def test_counts_are_measured_not_inherited():
    rule = exists(concept(color='red'))
    rng = np.random.default_rng(2)
    before, after = [], []
    for i in range(16):   # one red object appears or disappears: "at least 2 red objects" changes on no pair
        base = sample_scene(rng, 2, color=('blue', 'green'))
        red = replace(base, objects=base.objects[:1] + (replace(base.objects[1], color='red'),))
        before.append(red if i % 2 else base); after.append(base if i % 2 else red)
    recs, x, xc = _pairs(before, after, rule)
    hs = PairStatsProposer(show_progress=False, min_score=-1)(recs, x, xc)
    score = {h.text: h.score for h in hs}
    assert score['there is a red object'] > 0.9
    assert score.get('there are at least 2 red objects', 0) < 0.5

def test_bad_input_and_no_flips():
    recs, x, xc = _pairs([_one(color='red')] * 2, [_one(color='blue')] * 2, exists(concept(color='red')))
    with pytest.raises(ValueError, match='images x'): PairStatsProposer()(recs, x[:1], xc)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        assert PairStatsProposer()([replace(r, valid=False) for r in recs], x, xc) == []
    assert any('none of the 2 pairs is a flip' in str(m.message) for m in w)
    p = PairStatsProposer(blob_options={'large_area': 80})
    assert p.config()['blob_options'] == {'large_area': 80} and p.config()['proposer'] == 'pair statistics'
    assert PairStatsProposer.needs_pairs and not getattr(PairStatsProposer.__mro__[1], 'needs_pairs', False)

class _Recording(PairStatsProposer):
    "Records what the pipeline hands it."
    def __call__(self, *args):
        self.args = args
        return super().__call__(*args)

def test_pipeline_hands_the_pairs_not_the_captions(tmp_path):
    from gift_nb.classifier import load_classifier
    from gift_nb.counterfactuals import SceneSearchExplainer
    from gift_nb.pipeline import GIFT
    from gift_nb.world import make_dataset
    clf = load_classifier('red_metal')
    prop = _Recording(show_progress=False)
    g = GIFT(clf, counterfactuals=SceneSearchExplainer(clf, k=1, show_progress=False), proposer=prop, n_verify=16, oracle=False,
             show_progress=False)
    rep = g.run(make_dataset('red_metal', 24, 3, split='test'), run_dir=tmp_path / 'run', seed=0)
    recs, x, xc = prop.args
    assert all(isinstance(r, Counterfactual) and r.valid for r in recs)
    assert isinstance(x, torch.Tensor) and x.shape == xc.shape == (len(recs), 3, 64, 64)
    assert rep.hypotheses and all(h.source == 'pairs' for h in rep.hypotheses)
    assert rep.caption_stats['stage3_read']['flips'] == len(recs)
    st = g.run_stage('hypotheses', tmp_path / 'run')   # one stage alone: the pairs again, from the stored run
    assert len(prop.args[0]) == len(recs)
