"Tests of gift_nb.grouping (stage 2, several changes): multi-object edits, their instance labels, the shipped grouper and the captioner's clauses."
import inspect
import numpy as np
import pytest
import torch
from gift_nb.core import quantize
from gift_nb.world import Obj, Scene, TASKS, intervene, render, sample_scene
from gift_nb.captioning import ChangeCaptioner, caption_of_edit, caption_clauses, change_map, same_change, world_pairs
from gift_nb.grouping import (build_grouper, change_instances, cluster_votes, group_changes, grouper_data, load_grouper,
                              multi_edit, train_grouper, vote_targets)

@pytest.fixture(scope='module')
def caps(): return ChangeCaptioner(device='cpu'), ChangeCaptioner(device='cpu', grouper=False)

def _pairs(edits):
    "Rendered pairs of `multi_edit`s of random scenes, with their reference captions and edited-object counts."
    rng = np.random.default_rng(7)
    sb, sa, refs = [], [], []
    for k in edits:
        s = sample_scene(rng, n_objects=(3, 6))
        a, e = multi_edit(s, rng, k)
        sb.append(s); sa.append(a); refs.append(caption_of_edit(s, e))
    return quantize(render(sb)), quantize(render(sa)), refs

def test_multi_edit_edits_distinct_objects():
    rng = np.random.default_rng(0)
    for _ in range(40):
        s = sample_scene(rng)
        a, e = multi_edit(s, rng, 3)
        touched = [op[1] for op in e.ops if op[0] != 'set'] + list(dict.fromkeys(op[1] for op in e.ops if op[0] == 'set'))
        assert len(touched) == len(set(touched)) and 1 <= len(touched) <= 3
        assert len(caption_clauses(caption_of_edit(s, e))) == len(touched)
        assert len(a) >= 1

def test_instances_and_votes_from_truth():
    s = Scene((Obj('cube', 'red', 'large', 'rubber', x=-1.6, y=0.5), Obj('sphere', 'blue', 'small', 'metal', x=1.5, y=-0.5)))
    a = Scene((Obj('cube', 'green', 'large', 'rubber', x=-1.6, y=0.5), Obj('sphere', 'blue', 'small', 'metal', x=1.5, y=-0.5)))
    (xb, mb), (xa, ma) = render([s], return_masks=True), render([a], return_masks=True)
    d = change_map(quantize(xb), quantize(xa))[0].numpy()
    inst, n = change_instances(s, a, mb[0], ma[0], d)
    assert n == 1 and (inst == 0).sum() > 20 and not (inst[mb[0][1].numpy()] == 0).any()   # the unchanged sphere owns nothing
    off, w = vote_targets(inst, n)
    assert w.sum() == (inst >= 0).sum() and np.abs(off[:, inst < 0]).max() == 0

def test_cluster_votes_partition():
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.normal([5, 5], .3, (25, 2)), rng.normal([30, 30], .3, (25, 2)), rng.normal([30, 5], .3, (5, 2))])
    cl = cluster_votes(v, np.ones(len(v)))
    assert sorted(len(c) for c in cl) == [25, 30] and sorted(np.concatenate(cl).tolist()) == list(range(len(v)))

def test_train_grouper_deterministic():
    D = grouper_data(16, seed=2)
    g1, g2 = (train_grouper(D, steps=2, batch_size=4, width=4) for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(g1.state_dict().values(), g2.state_dict().values()))

def test_shipped_grouper_card_is_the_make_weights_recipe():
    g = load_grouper()
    sig = inspect.signature(build_grouper).parameters
    assert g.card['train']['steps'] == sig['steps'].default and g.card['data']['p_ae'] == sig['p_ae'].default
    assert g.card['metrics']['held_out']['exact'] >= 0.8

def test_captioner_names_every_changed_object(caps):
    cap, single = caps
    xb, xa, refs = _pairs([2] * 12 + [3] * 12)
    ok = [same_change(p, r) for p, r in zip(cap(xb, xa), refs)]
    ok1 = [same_change(p, r) for p, r in zip(single(xb, xa), refs)]
    assert sum(ok) >= 0.75 * len(ok) and sum(ok1) <= 0.1 * len(ok1)
    assert all(dd['changes'] >= 1 for dd in cap.details) and max(dd['changes'] for dd in cap.details) >= 2

def test_single_changes_unchanged(caps):
    "On single-change pairs the grouper finds one object: the captions are the single-change captioner's."
    cap, single = caps
    P = world_pairs(96, seed=99)
    a, b = cap(P['before'], P['after']), single(P['before'], P['after'])
    assert sum(x == y for x, y in zip(a, b)) >= 0.95 * len(a)
    assert cap.model_id.startswith(single.model_id + '+grouper@')

def test_or_rule_counterfactual():
    "Leaving 'cube or cyan' from two cubes changes both; the caption names both."
    s0 = Scene((Obj('cube', 'red', 'large', 'rubber', x=-1.6, y=0.5), Obj('cube', 'blue', 'small', 'metal', x=1.5, y=-0.5),
                Obj('sphere', 'gray', 'large', 'metal', x=0.2, y=1.8)))
    s1, e = intervene(s0, TASKS['cube_or_cyan'].rule, False, rng=0, return_edit=True)
    x0, x1 = quantize(render([s0])), quantize(render([s1]))
    assert len(group_changes(load_grouper(), x0, x1)[0]) == 2
    assert same_change(ChangeCaptioner(device='cpu')(x0, x1)[0], caption_of_edit(s0, e))
