"Tests of gift_nb.captioning (stage 2): grammar, localisation, the shipped change captioner, records, metrics, the HF VLM backend."
import json, warnings
import numpy as np
import pytest
import torch
from gift_nb.core import Caption, CacheMiss, Counterfactual, ModelCache
from gift_nb.world import Obj, Scene, Edit, intervene, exists, concept, render
from gift_nb.captioning import (NO_CHANGE, Captioner, ChangeCaptioner, bleu4, caption_clauses, caption_of_edit,
                                caption_quality, caption_stats, cider_d, load_change_reader, localise, random_edit,
                                same_change, world_pairs)
from gift_nb.vlm_captioner import VLMCaptioner, tiny_vlm, CHANGE_PROMPT_VERSION

@pytest.fixture(scope='module')
def cap(): return ChangeCaptioner(device='cpu')

@pytest.fixture(scope='module')
def pairs(): return world_pairs(120, seed=4242)

def test_caption_of_edit_matches_intervene():
    rng = np.random.default_rng(0)
    s = Scene((Obj('cube', 'red', 'small', 'metal', x=-1., y=0.),))
    s2, e = intervene(s, ~exists(concept(color='red')), True, rng, return_edit=True)
    c = caption_of_edit(s, e)
    assert c.startswith('the small red metal cube became ') and caption_clauses(c)[0]['after']['color'] == s2.objects[0].color

def test_random_edit_kinds_and_grammar():
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(60):
        from gift_nb.world import sample_scene
        s = sample_scene(rng)
        a, e, k = random_edit(s, rng)
        seen.add(k)
        cl = caption_clauses(caption_of_edit(s, e))
        assert cl[0]['type'] == k
        if k == 'change': assert 1 <= sum(cl[0]['before'][x] != cl[0]['after'][x] for x in cl[0]['before']) <= 2
        if k == 'remove': assert len(a) == len(s) - 1
        if k == 'add': assert len(a) == len(s) + 1
    assert seen == {'none', 'change', 'add', 'remove'}

def test_caption_clauses_strict_and_synonyms():
    assert caption_clauses('the big grey matte block was removed')[0]['before'] == dict(size='large', color='gray', material='rubber', shape='cube')
    with pytest.raises(ValueError, match='canonical clauses'): caption_clauses('a red cube appeared out of nowhere')
    with pytest.raises(TypeError): caption_clauses(None)
    assert same_change('nothing changed', 'no change')
    assert not same_change('', 'nothing changed')

def test_localise_noise_is_no_change():
    x = render(Scene((Obj('sphere', 'blue', 'large', 'rubber'),)))
    g = torch.Generator().manual_seed(0)
    noisy = (x + 0.02 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    assert not localise(x, noisy)['found'][0]
    y = render(Scene((Obj('sphere', 'red', 'large', 'rubber'),)))
    loc = localise(x, y)
    assert loc['found'][0] and loc['area'][0] > 50

def test_shipped_captioner_quality(cap, pairs):
    pred = cap(pairs['before'], pairs['after'])
    q = caption_quality(pred, pairs['captions'])
    assert q['exact'] >= 0.85, q               # a small sample; bench/captioning_quality.py measures 1,000+ pairs
    assert all(caption_clauses(p) for p in pred)  # only canonical captions
    assert cap.model_id.startswith('gift_nb/change-captioner@')

def test_shipped_card():
    r = load_change_reader()
    card = r.card
    assert card['domain']['data'] == 'gift_nb.world' and 'metrics' in card and card['n_params'] == sum(p.numel() for p in r.parameters())
    from gift_nb.classifier import WEIGHTS_DIR
    assert (WEIGHTS_DIR / card['weights']).stat().st_size < 4_000_000

def test_shipped_card_is_the_make_weights_recipe():
    """The shipped reader comes from `build_change_captioner` (tools/make_weights.py captioner): a fixed step count, and the
    autoencoder its augmentation used is the one that ships."""
    import inspect
    from gift_nb.captioning import build_change_captioner, train_reader
    from gift_nb.autoencoder import load_autoencoder
    card = load_change_reader().card
    assert card['train']['steps'] == card['train']['planned_steps'] == inspect.signature(build_change_captioner).parameters['steps'].default
    assert 'budget_s' not in inspect.signature(train_reader).parameters
    for k in ('p_ae', 'p_fill'): assert card['data'][k] == inspect.signature(build_change_captioner).parameters[k].default
    assert card['data']['autoencoder_sha256'] == load_autoencoder().card['sha256']
    assert card['metrics']['held_out']['n'] >= 1000 and 'autoencoder' in card['metrics']

def test_train_reader_deterministic():
    from gift_nb.captioning import reader_data, train_reader
    D = reader_data(24, seed=3)
    r1, r2 = (train_reader(D, steps=3, batch_size=8, width=4, feat=8) for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(r1.state_dict().values(), r2.state_dict().values()))
    assert r1.train_info['steps'] == 3

def test_deterministic_and_bad_input(cap, pairs):
    b, a = pairs['before'][:10], pairs['after'][:10]
    assert cap(b, a) == cap(b, a)
    assert cap(b[:0], a[:0]) == []
    with pytest.raises(ValueError, match='one after image per before image'): cap(b[:3], a[:2])
    with pytest.raises(ValueError, match='a pair must have one size'): cap(b[:2], torch.zeros(2, 3, 48, 48))
    with pytest.raises(TypeError, match='255'): cap((b[:1] * 255).to(torch.uint8), a[:1])
    with pytest.raises(ValueError, match='NaN'): cap(torch.full_like(b[:1], float('nan')), a[:1])
    with pytest.raises(TypeError): cap('x', a[:1])

class _Fixed(Captioner):
    model_id = 'fixed'
    def __init__(self, answers): self.answers = answers
    def __call__(self, before, after): return list(self.answers)

def _cf(i, valid=True, direction='1->0'):
    return Counterfactual(id=f'cf-{i}', source=i, image=i, k=1, probs_before=[.3, .7], probs_after=[.6, .4], pred_before=1,
                          pred_after=0, target=0, direction=direction, valid=valid)

def test_records_flags_empty_and_no_change():
    cfs = [_cf(0), _cf(1, direction='0->1'), _cf(2), _cf(3, valid=False)]
    c = _Fixed(['', ' \n', 'nothing changed'])
    recs = c.records(cfs, torch.zeros(4, 3, 64, 64), torch.ones(4, 3, 64, 64))
    assert [r.pair for r in recs] == ['cf-0', 'cf-1', 'cf-2'] and all(isinstance(r, Caption) for r in recs)
    assert [r.flags for r in recs] == [['empty'], ['empty'], ['no-change']]
    assert c.stats['empty'] == 2 and c.stats['no_change'] == 1 and c.stats['by_direction']['0->1']['empty'] == 1
    assert Caption.from_json(recs[0].to_json()) == recs[0]
    by_path = Counterfactual(id='p', source='a.png', image='b.png', k=1, probs_before=[.3, .7], probs_after=[.6, .4],
                             pred_before=1, pred_after=0, target=0, direction='1->0', valid=True)
    with pytest.raises(TypeError, match='index'): _Fixed(['x']).records([by_path], torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64))

def test_metrics_hand_values():
    assert abs(bleu4(['the small red metal cube became blue'], ['the small red metal cube became green']) - (3 / 7) ** 0.25) < 1e-6
    assert abs(bleu4(['a b c d'], ['a b c d']) - 1) < 1e-6
    assert abs(cider_d(['a b', 'c d'], ['a b', 'c d']) - 5.0) < 1e-9
    # length penalty: hypothesis 'a b a b' (3 bigrams) vs reference 'a b' (1 bigram): delta 2, sigma 6
    import math
    v = cider_d(['a b a b', 'c d'], ['a b', 'c d'])
    pen = math.exp(-4 / 72)
    # unigram: hyp tf 2,2 vs ref 1,1 -> clipped min(2w,w)*w*2 / (2*sqrt2 w * sqrt2 w) = 1/2; bigram 'a b' tf 2 vs 1 -> same 1/2
    # ('b a' is not in the reference and only raises the norm: bigram = min(2w,w)*w / (sqrt(5) w * w) = 1/sqrt5)
    want = (10 * (0.5 + 1 / math.sqrt(5)) * pen / 4 + 5.0) / 2
    assert abs(v - want) < 1e-9
    q = caption_quality(['nothing changed', 'the small red metal cube became blue'], ['nothing changed', 'the small red metal cube became green'])
    assert q['exact'] == 0.5 and q['no_change_precision'] == 1 and q['no_change_recall'] == 1

@pytest.fixture(scope='module')
def tiny():
    return tiny_vlm()

def test_vlm_tiny_llava_full_path(tiny, tmp_path, pairs):
    m, p = tiny
    b, a = pairs['before'][:3], pairs['after'][:3]
    v = VLMCaptioner(m, p, max_new_tokens=5, upscale=28, batch_size=2, device='cpu', model_id='tiny')
    out = v(b, a)
    assert len(out) == 3 and all(isinstance(t, str) for t in out) and v(b, a) == out
    m.save_pretrained(tmp_path / 'm'); p.save_pretrained(tmp_path / 'm')
    v2 = VLMCaptioner(tmp_path / 'm', local_files_only=True, max_new_tokens=5, upscale=28, device='cpu', model_id='tiny')
    assert v2(b, a) == out
    cache = tmp_path / 'cache.jsonl'
    rec = VLMCaptioner(m, p, max_new_tokens=5, upscale=28, device='cpu', model_id='tiny', cache=ModelCache(cache, 'record'))
    assert rec(b, a) == out and len(rec.cache) == 3
    e = json.loads(cache.read_text().splitlines()[0])
    assert e['params']['prompt_version'] == CHANGE_PROMPT_VERSION and len(e['images']) == 2
    rep = VLMCaptioner(m, p, max_new_tokens=5, upscale=28, device='cpu', model_id='tiny', cache=ModelCache(cache, 'replay'))
    rep.model = None   # replay never calls the model
    assert rep(b, a) == out
    with pytest.raises(CacheMiss, match='no recorded answer .* key [0-9a-f]{16}'): rep(a[:1], b[:1])

def test_vlm_empty_answers_are_flagged(tiny, tmp_path):
    m, p = tiny
    cache = tmp_path / 'c.jsonl'
    v = VLMCaptioner(m, p, max_new_tokens=3, upscale=28, device='cpu', model_id='tiny', cache=ModelCache(cache, 'record'))
    x = torch.rand(2, 3, 64, 64)
    v(x, x.flip(0))
    lines = [json.loads(l) for l in cache.read_text().splitlines()]
    for l in lines: l['response'] = '   '   # a model that answers nothing
    cache.write_text(''.join(json.dumps(l) + '\n' for l in lines))
    rep = VLMCaptioner(m, p, max_new_tokens=3, upscale=28, device='cpu', model_id='tiny', cache=ModelCache(cache, 'replay'))
    recs = rep.records([_cf(0), _cf(1)], x, x.flip(0))
    assert [r.flags for r in recs] == [['empty'], ['empty']] and rep.stats['empty'] == 2

def test_vlm_bad_input(tiny):
    m, p = tiny
    v = VLMCaptioner(m, p, max_new_tokens=2, device='cpu')
    with pytest.raises(ValueError, match='one after image'): v(torch.rand(2, 3, 64, 64), torch.rand(1, 3, 64, 64))
    with pytest.raises(ValueError, match='upscale'): VLMCaptioner(m, p, upscale=3)
    with pytest.raises(ValueError, match='processor'): VLMCaptioner(m)

def test_import_is_light():
    import subprocess, sys
    r = subprocess.run([sys.executable, '-c', 'import sys, gift_nb.captioning; print("transformers" in sys.modules)'],
                       capture_output=True, text=True)
    assert r.stdout.strip() == 'False', r.stderr

def test_ground_fill_removal_augmentation():
    from gift_nb.core import quantize
    from gift_nb.captioning import ground_fill, reader_data
    s = Scene((Obj('cube', 'red', 'large', 'rubber', x=-1.5, y=0.), Obj('sphere', 'blue', 'small', 'metal', x=1.5, y=1.)))
    b, a = quantize(render(s)[0]), quantize(render(Scene(s.objects[1:]))[0])
    assert (ground_fill(b, a) - a).abs().max() < 1e-3      # an isolated object: ground is what the render shows
    assert torch.equal(ground_fill(b, b), b)
    D = reader_data(60, seed=1, p_fill=1.0)
    assert ((D['variant'] == 3) == (D['types'] == 3)).all()  # every removal pair painted, nothing else
