"Property tests of the world over many seeded scenes (the notebooks 01*_ show the same checks on fewer)."
import json, pickle
import numpy as np, pytest, torch
from gift_nb.world import *
from gift_nb.rules import *
from gift_nb.interventions import *
from gift_nb.tasks import *

RULES = [exists(concept(color='red', material='metal')),
         exists(concept(shape='cube')) | exists(concept(color='cyan')),
         at_least(2, concept(shape='sphere')),
         at_least(3, concept(size='small')),
         exists(concept(size='large', color='gray', shape='cylinder')),
         exists(concept(color='red')) & exists(concept(material='metal')),
         ~exists(concept(color='blue')),
         exists(concept(color='red')) & ~exists(concept(material='metal'))]

@pytest.mark.parametrize('seed', range(4))
def test_interventions_properties(seed):
    "1,000 scenes in all (4 x 250): the rule holds as asked, no cheaper edit exists, unrelated objects are untouched."
    rng = np.random.default_rng(seed)
    n_changed = 0
    for _ in range(250):
        s = sample_scene(rng)
        for r in RULES:
            for present in (True, False):
                new, e = intervene(s, r, present, rng, return_edit=True)
                assert bool(r(new)) == present
                if e.cost == 0: assert new == s; continue
                n_changed += 1
                if e.cost <= 3.5: assert not cheaper_edit_exists(s, r, present, e.cost), (s, r, present, e)
                removed = {op[1] for op in e.ops if op[0] == 'remove'}
                touched = {op[1] for op in e.ops if op[0] == 'set'} | removed
                survivors = [i for i in range(len(s)) if i not in removed]
                mentioned = {a for c in r.concepts() for a, _ in c.attrs}
                for j, i in enumerate(survivors):
                    o, p = s.objects[i], new.objects[j]
                    assert (o.x, o.y, o.rotation) == (p.x, p.y, p.rotation)          # nothing moves
                    if i not in touched: assert o == p                            # untouched objects are equal
                    else: assert all(getattr(o, a) == getattr(p, a) for a in ATTRIBUTES if a not in mentioned)
                assert len(new) == len(survivors) + sum(op[0] == 'add' for op in e.ops)
    assert n_changed > 1000

def test_added_objects_are_visible():
    rng = np.random.default_rng(7)
    for _ in range(200):
        s = sample_scene(rng, 6)
        new = intervene(s, at_least(8, concept(color='yellow')), True, rng)
        assert len(new) <= 10 and min(visible_fractions(new)) >= MIN_VISIBLE

def test_clevr_roundtrip_random():
    rng = np.random.default_rng(3)
    scenes = [sample_scene(rng) for _ in range(50)]
    back = [Scene.from_clevr(json.loads(json.dumps(s.to_clevr()))) for s in scenes]
    assert back == scenes and [b.key() for b in back] == [s.key() for s in scenes]
    assert torch.equal(render(back), render(scenes))

def test_rules_roundtrip_and_parse():
    rng = np.random.default_rng(0)
    vocab = [concept(**{a: vals[rng.integers(len(vals))] for a, vals in ATTRIBUTES.items() if rng.random() < 0.5} or {'shape': 'cube'})
             for _ in range(40)]
    for k in range(100):
        c1, c2 = vocab[k % 40], vocab[(7 * k + 3) % 40]
        r = [exists(c1) & ~exists(c2), at_least(1 + k % 4, c1) | exists(c2), ~(exists(c1) | at_least(2, c2))][k % 3]
        assert parse_rule(str(r)) == r
        assert rule_from_json(json.loads(json.dumps(r.to_json()))) == r
        assert pickle.loads(pickle.dumps(r)) == r and hash(pickle.loads(pickle.dumps(r))) == hash(r)

def test_render_masks_match_objects():
    rng = np.random.default_rng(1)
    scenes = [sample_scene(rng) for _ in range(100)]
    x, masks = render(scenes, return_masks=True)
    for s, m in zip(scenes, masks):
        assert m.shape == (len(s), 64, 64)
        vis = visible_fractions(s)
        assert all(int(mi.sum()) > 0 for mi in m)
        assert min(vis) >= MIN_VISIBLE

@pytest.mark.parametrize('bad', [dict(color='pink'), dict(colour='red'), dict()])
def test_bad_concepts(bad):
    with pytest.raises(ValueError, match='allowed|empty concept'): concept(**bad)

def test_bad_inputs():
    with pytest.raises(ValueError, match=r'Bias.p_neg is a rate in \[0, 1\]'): Bias(exists(concept(color='red')), 0.5, -0.1)
    with pytest.raises(ValueError, match='unknown word'): parse_rule('there is a fluffy cube')
    with pytest.raises(ValueError, match='unsatisfiable'):
        intervene(sample_scene(np.random.default_rng(0)), at_least(2, concept(color='red')) & ~exists(concept(color='red')), True)
    with pytest.raises(ValueError, match='split must be one of'): make_dataset('red_metal', 4, 0, split='dev')
    with pytest.raises(ValueError, match='shipped tasks are'): make_dataset('nope', 4, 0)

def test_brute_force_checker_can_fail():
    "The checker finds a cheaper edit when one exists (so the property test can fail)."
    s = Scene((Obj('cube', 'red', 'small', 'rubber', -1, 0), Obj('sphere', 'blue', 'large', 'rubber', 1, 1)))
    r = exists(concept(color='red', material='metal'))
    assert cheaper_edit_exists(s, r, True, 2.5)          # red rubber cube -> metal costs 1
    assert not cheaper_edit_exists(s, r, True, 1.0)      # nothing is free
    assert cheaper_edit_exists(s, at_least(2, concept(shape='sphere')), True, 2.5)


def test_moved_names_import_from_world():
    "Rules, interventions and tasks left gift_nb.world for modules of their own; every name still imports from world."
    import gift_nb, gift_nb.world as W
    from gift_nb.world import parse_rule, make_dataset, intervene, Task, get_task, TASKS, render, Scene, Obj, exists, at_least, concept, equivalent, truth_key, Edit, NoRoom
    import gift_nb.rules as R, gift_nb.interventions as I, gift_nb.tasks as T
    assert (parse_rule, intervene, make_dataset, Edit, NoRoom) == (R.parse_rule, I.intervene, T.make_dataset, I.Edit, I.NoRoom)
    for n, m in W._MOVED.items(): assert getattr(W, n) is getattr(getattr(gift_nb, m), n), n
    assert set(W._MOVED) >= set(R.__all__) | set(I.__all__) | set(T.__all__)
    assert not set(W._MOVED) & set(W.__all__)
    with pytest.raises(AttributeError, match='no_such_name'): W.no_such_name
