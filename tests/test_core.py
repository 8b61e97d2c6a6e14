"""Tests of gift_nb.core: records, seeding, images, the run directory (including resume after SIGKILL) and the cache."""
import json, math, os, random, signal, struct, subprocess, sys, time, warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from gift_nb.core import (CacheMiss, Caption, Counterfactual, Hypothesis, ModelCache, Record, RunDir, Verification,
                          default_device, image_hash, item_generator, item_rng, item_seed, load_png, progress,
                          progress_enabled, quantize, read_jsonl, record_from_dict, save_png, seed_everything,
                          set_progress, to_uint8)
from gift_nb.testing import TinyCNN, random_images, tmp_run_dir

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- device, seeds, progress

def test_default_device_precedence(monkeypatch):
    monkeypatch.setenv('GIFT_NB_DEVICE', 'meta')
    assert default_device() == torch.device('meta')
    assert default_device('cpu') == torch.device('cpu')
    monkeypatch.setenv('GIFT_NB_DEVICE', 'nonsense')
    with pytest.raises(ValueError, match="GIFT_NB_DEVICE='nonsense'"): default_device()
    monkeypatch.delenv('GIFT_NB_DEVICE')
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match='no CUDA GPU'): default_device('cuda:0')
    expected = 'cuda' if torch.cuda.is_available() else 'mps' if torch.backends.mps.is_available() else 'cpu'
    assert default_device().type == expected


def test_item_seed_is_pinned():
    # Golden values: changing the derivation would silently change every stored run's randomness.
    assert item_seed(0, 'counterfactuals', 7) == item_seed(0, 'counterfactuals', '7') == GOLDEN_SEED
    assert 0 <= item_seed(2**40, 'x' * 100, 'é') < 2**63
    assert len({item_seed(s, st, i) for s in range(3) for st in 'abc' for i in range(20)}) == 180


GOLDEN_SEED = int(subprocess.run(  # computed in a fresh interpreter with another hash salt
    [sys.executable, '-c', "from gift_nb.core import item_seed; print(item_seed(0, 'counterfactuals', 7))"],
    capture_output=True, text=True, check=True, cwd=ROOT,
    env={**os.environ, 'PYTHONHASHSEED': '7', 'PYTHONPATH': str(ROOT)}).stdout)


def test_item_seed_known_value():
    import hashlib
    digest = hashlib.sha256(b"0\x1fcounterfactuals\x1f7").digest()
    assert item_seed(0, 'counterfactuals', 7) == int.from_bytes(digest[:8], 'little') >> 1


def test_item_generators_are_independent_of_global_state():
    torch.manual_seed(1); np.random.seed(1)
    a = torch.rand(4, generator=item_generator(5, 's', 'i')), item_rng(5, 's', 'i').random(4)
    torch.manual_seed(2); np.random.seed(2); torch.rand(10)
    b = torch.rand(4, generator=item_generator(5, 's', 'i')), item_rng(5, 's', 'i').random(4)
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    with pytest.raises(TypeError, match='seed must be an int'): item_rng(True, 's', 1)
    with pytest.raises(TypeError, match='stage must be a str'): item_seed(0, 3, 1)


def test_seed_everything():
    seed_everything(11); a = random.random(), float(np.random.rand()), torch.rand(2)
    seed_everything(11); b = random.random(), float(np.random.rand()), torch.rand(2)
    assert a[:2] == b[:2] and torch.equal(a[2], b[2])


def test_progress_default_follows_in_test(monkeypatch):
    monkeypatch.setenv('IN_TEST', '1')
    assert progress(range(3)).disable and list(progress(range(3))) == [0, 1, 2]
    monkeypatch.delenv('IN_TEST')
    assert progress_enabled() and not progress(range(3), file=open(os.devnull, 'w')).disable
    set_progress(False)
    try: assert not progress_enabled() and progress_enabled(True)
    finally: set_progress(None)


# ---------------------------------------------------------------- records

def _records():
    cf = Counterfactual(id='cf-1', source=3, image='images/cf/cf-1.png', k=1, probs_before=np.array([0.25, 0.75]),
                        probs_after=torch.tensor([0.6, 0.4], dtype=torch.float64), pred_before=np.int64(1), pred_after=0,
                        target=0, direction='1->0', valid=np.bool_(True), method='m', meta={'pt': (1, 2), 'x': None})
    cap = Caption(id='c', pair='cf-1', text='le cube est devenu rouge — ünïcode', model_id='m', direction='1->0',
                  flags=['no-change'], meta={'n': [1, 2]})
    hyp = Hypothesis(k=0, text='a cube', rule=None, provenance={'captions': ['c'], 'directions': {'1->0': 3}},
                     score=1e-300, source='llm')
    ver = Verification(hypothesis='a cube', rule={'op': 'exists'}, k=0, n=10, cace=-0.0, cace_ci=[-0.1, 0.1],
                       pns=0.3, pns_ci=(0.1, 0.6), ps=math.nan, ps_ci=(math.nan, math.nan), ps_n=0, pn=1.0,
                       pn_ci=(0.7, 1.0), pn_n=10, status='rejected', reason='r', threshold=0.75, n_failed=2,
                       meta={'inf': math.inf})
    return [cf, cap, hyp, ver]


@pytest.mark.parametrize('rec', _records(), ids=lambda r: r.kind)
def test_record_round_trip(rec):
    back = Record.from_json(rec.to_json())
    assert type(back) is type(rec) and back == rec
    assert back.to_json() == rec.to_json()
    assert record_from_dict(json.loads(json.dumps(rec.to_dict()))) == rec
    assert json.loads(rec.to_json())['kind'] == rec.kind and rec.version == 1


def test_record_field_types_after_round_trip():
    cf, cap, hyp, ver = [Record.from_json(r.to_json()) for r in _records()]
    assert type(cf.pred_before) is int and type(cf.valid) is bool and cf.probs_after == [0.6, 0.4]
    assert cf.meta == {'pt': [1, 2], 'x': None}       # tuples in free-form dicts are lists (as JSON has them)
    assert ver.cace_ci == (-0.1, 0.1) and isinstance(ver.pns_ci, tuple)
    assert math.isnan(ver.ps) and all(math.isnan(v) for v in ver.ps_ci) and ver.meta['inf'] == math.inf
    assert math.copysign(1, ver.cace) == -1           # -0.0 keeps its sign
    assert hyp.score == 1e-300 and hyp.id == 'k0:a cube' and ver.id == 'k0:a cube'


def test_float_round_trip_is_exact():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**64, size=500, dtype=np.uint64)
    values = [v for v in (struct.unpack('<d', struct.pack('<Q', int(b)))[0] for b in bits) if math.isfinite(v)]
    rec = Counterfactual(id='x', source=0, image=None, k=0, probs_before=values, probs_after=values, pred_before=0,
                         pred_after=0, target=1, direction='0->1', valid=False)
    back = Record.from_json(rec.to_json())
    assert [struct.pack('<d', v) for v in back.probs_before] == [struct.pack('<d', v) for v in values]


def test_nan_equality_is_per_value():
    a = Verification(hypothesis='h', k=1, ps=math.nan)
    assert a == Verification(hypothesis='h', k=1, ps=float('nan'))
    assert a != Verification(hypothesis='h', k=1, ps=0.5)


def test_record_errors():
    cf = _records()[0]
    d = cf.to_dict()
    with pytest.raises(ValueError, match=r"counterfactual record version 2 is not supported.*version\(s\) 1"):
        record_from_dict({**d, 'version': 2})
    with pytest.raises(ValueError, match="unknown record kind 'concept'; supported kinds: caption, counterfactual"):
        record_from_dict({**d, 'kind': 'concept'})
    with pytest.raises(ValueError, match='unknown record kind None'): record_from_dict({'id': 1})
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['extra'\]"): record_from_dict({**d, 'extra': 1})
    with pytest.raises(TypeError, match='counterfactual.k must be an integer'): record_from_dict({**d, 'k': 1.5})
    with pytest.raises(TypeError, match='caption.text must be a str'):
        Caption(id='c', pair='p', text=None, model_id='m', direction='0->1')
    with pytest.raises(ValueError, match="verification.status must be one of"): Verification(hypothesis='h', k=1, status='ok')
    with pytest.raises(ValueError, match='verification.n must be >= 0'): Verification(hypothesis='h', k=1, n=-1)
    with pytest.raises(ValueError, match='probs_before has 2 classes but probs_after has 3'):
        Counterfactual(**{**{k: v for k, v in d.items() if k != 'kind'}, 'probs_after': [0.1, 0.2, 0.7]})
    with pytest.raises(TypeError, match="dict keys must be str"): Hypothesis(k=1, text='t', provenance={1: 'a'})
    with pytest.raises(TypeError, match='missing'): Hypothesis(text='t')


# ---------------------------------------------------------------- images

def test_png_round_trip_and_hash(tmp_path):
    x = random_images(3, size=16, seed=4)
    u = to_uint8(x)
    assert u.shape == (3, 16, 16, 3) and u.dtype == np.uint8
    assert np.array_equal(u, np.round(x.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8))
    p = save_png(tmp_path/'deep'/'a.png', x[1])
    y = load_png(p)
    assert y.dtype == torch.float32 and y.shape == (3, 16, 16)
    assert torch.equal(y, quantize(x[1])) and np.array_equal(to_uint8(y), u[1])
    assert image_hash(y) == image_hash(x[1]) == image_hash(u[1].transpose(2, 0, 1))
    assert image_hash(x[1]) != image_hash(x[1].transpose(1, 2))   # same pixels, other layout
    assert [f.name for f in (tmp_path/'deep').iterdir()] == ['a.png']
    with pytest.raises(ValueError, match='contain NaN'): to_uint8(torch.full((3, 2, 2), math.nan))
    with pytest.raises(TypeError, match='torch tensor or numpy array'): to_uint8([[0.5]])


# ---------------------------------------------------------------- run directory

CHILD = r'''
import sys, time, torch
from gift_nb.core import RunDir, Counterfactual
path, n, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
run = RunDir(path, seed=3)
st = run.stage('counterfactuals', config={'n': n, 'method': 'toy'})
if st.done: print('reused', flush=True); sys.exit(0)
for i in range(n):
    rid = f'cf-{i:03d}'
    if rid in st.done_ids: continue
    g = st.generator(rid)
    x = torch.rand(3, 16, 16, generator=g)
    p = torch.rand(2, generator=g).softmax(0).tolist()
    st.append(Counterfactual(id=rid, source=i, image=st.save_image(rid, x), k=1, probs_before=[0.1, 0.9],
                             probs_after=p, pred_before=1, pred_after=int(p[1] > p[0]), target=0, direction='1->0',
                             valid=p[1] <= p[0], method='toy', meta={'noise': float(st.rng(rid).normal())}))
    print(rid, flush=True)
    time.sleep(delay)
caps = run.stage('captions', config={'model': 'toy'}, inputs=st.finish().digest)
for r in st.records():
    if 'cap-' + r.id not in caps.done_ids:
        caps.append({'id': 'cap-' + r.id, 'text': f'changed by {r.meta["noise"]:.3f}'})
caps.finish()
print('finished', flush=True)
'''


def _child(path, n=30, delay=0.0, **kw):
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1'}
    return subprocess.Popen([sys.executable, '-c', CHILD, str(path), str(n), str(delay)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _snapshot(path):
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(Path(path).rglob('*'))
            if p.is_file() and p.name != 'manifest.json'}


def test_resume_after_sigkill_gives_identical_records(tmp_path):
    ref = _child(tmp_path/'ref'); out, err = ref.communicate(timeout=120)
    assert ref.returncode == 0, err
    # Kill a run (SIGKILL: no cleanup) in the middle of the counterfactual stage.
    p = _child(tmp_path/'killed', delay=0.05)
    seen = [p.stdout.readline() for _ in range(8)]
    assert seen[-1].startswith('cf-')
    os.kill(p.pid, signal.SIGKILL); p.wait(timeout=30)
    assert p.returncode == -signal.SIGKILL
    f = tmp_path/'killed'/'counterfactuals.jsonl'
    n_before = len(f.read_bytes().splitlines())
    assert 8 <= n_before < 30
    manifest = json.loads((tmp_path/'killed'/'manifest.json').read_text())
    assert manifest['stages']['counterfactuals']['status'] == 'running' and 'captions' not in manifest['stages']
    # What a kill inside a write leaves: half a line with no newline. Resume must drop it with a warning.
    with open(f, 'ab') as fh: fh.write(b'{"kind": "counterfactual", "id": "cf-0')
    r = _child(tmp_path/'killed'); out, err = r.communicate(timeout=120)
    assert r.returncode == 0, err
    assert 'dropped a torn last line' in err
    resumed_ids = [l for l in out.splitlines() if l.startswith('cf-')]
    assert len(resumed_ids) == 30 - n_before and resumed_ids[0] == f'cf-{n_before:03d}'   # nothing recomputed
    assert _snapshot(tmp_path/'killed') == _snapshot(tmp_path/'ref')      # records, captions and PNGs identical
    # A third run reuses the finished stages without recomputing anything.
    r = _child(tmp_path/'killed'); out, err = r.communicate(timeout=120)
    assert out.strip() == 'reused' and _snapshot(tmp_path/'killed') == _snapshot(tmp_path/'ref')


def test_config_or_inputs_change_invalidates_later_stages(tmp_path, caplog):
    run = RunDir(tmp_path, seed=1)
    a = run.stage('a', {'x': 1}); a.append({'id': 1}); a.save_image('one', random_images(1, 4)[0]); a.finish()
    b = run.stage('b', {'y': 1}, inputs=a.digest); b.append({'id': 2}); b.finish()
    c = run.stage('c', {'z': 1}); c.append({'id': 3}); c.finish()
    # Unchanged: reused, in a new RunDir object (as a new process would).
    run = RunDir(tmp_path, seed=1)
    assert run.stage('a', {'x': 1}).done and run.stage('b', {'y': 1}, inputs=a.digest).records() == [{'id': 2}]
    # Inputs of b change -> b and c go, a stays.
    b2 = run.stage('b', {'y': 1}, inputs='other')
    assert not b2.done and len(b2) == 0 and run.stage_names == ['a', 'b']
    assert not (tmp_path/'c.jsonl').exists() and (tmp_path/'a.jsonl').exists()
    assert "stage 'b' changed its inputs: removed and will rerun: b, c" in caplog.text
    # Config of a changes -> everything goes, images too.
    run.stage('a', {'x': 2})
    assert run.stage_names == ['a'] and not (tmp_path/'images'/'a').exists()
    assert len(json.loads((tmp_path/'manifest.json').read_text())['notes']) == 2
    # Another seed is another config.
    a = run.stage('a', {'x': 2}); a.append({'id': 1}); a.finish()
    assert not RunDir(tmp_path, seed=2).stage('a', {'x': 2}).done
    assert "stage 'a' changed its seed" in caplog.text


def test_stage_context_manager_finishes_only_on_success(tmp_path):
    run = RunDir(tmp_path)
    with pytest.raises(RuntimeError):
        with run.stage('s', {}) as st:
            st.append({'id': 0}); raise RuntimeError('boom')
    assert not st.done and RunDir(tmp_path).stage('s', {}).done_ids == {0}
    with RunDir(tmp_path).stage('s', {}) as st: st.append({'id': 1})
    assert st.done and RunDir(tmp_path).stage('s', {}).done


def test_manifest_contents(tmp_path):
    run = RunDir(tmp_path, seed=5)
    st = run.stage('s', {'k': 1})
    for i in range(3): st.append(Caption(id=f'c{i}', pair='p', text='t', model_id='m', direction='0->1'))
    st.save_image('img', random_images(1, 4)[0])
    st.finish()
    m = json.loads((tmp_path/'manifest.json').read_text())
    assert m['seed'] == 5 and set(m['versions']) == {'gift_nb', 'torch', 'numpy', 'python'}
    e = m['stages']['s']
    assert (e['status'], e['count'], e['images'], e['config']) == ('done', 3, 1, {'k': 1})
    assert len(e['config_hash']) == 64 and e['digest'] == st.digest
    assert not list(tmp_path.glob('*.tmp')) and not list(tmp_path.glob('.*'))


def test_corrupted_files_are_errors(tmp_path):
    run = RunDir(tmp_path)
    st = run.stage('s', {})
    for i in range(3): st.append({'id': i})
    lines = (tmp_path/'s.jsonl').read_text().splitlines()
    (tmp_path/'s.jsonl').write_text('\n'.join([lines[0], lines[1][:-3], lines[2]]) + '\n')
    with pytest.raises(ValueError, match=r"s\.jsonl, line 2: not valid JSON"): run.stage('s', {})
    (tmp_path/'s.jsonl').write_text('[1, 2]\n')
    with pytest.raises(ValueError, match=r"s\.jsonl, line 1: expected a JSON object"): run.stage('s', {})
    cap = Caption(id='c', pair='p', text='t', model_id='m', direction='0->1').to_dict()
    (tmp_path/'s.jsonl').write_text(json.dumps({**cap, 'version': 3}) + '\n')
    with pytest.raises(ValueError, match=r"s\.jsonl, record 1: caption record version 3 is not supported"): run.stage('s', {})
    (tmp_path/'manifest.json').write_text('{"format": 1, "stag')
    with pytest.raises(ValueError, match='manifest.json is not valid JSON'): RunDir(tmp_path)
    (tmp_path/'manifest.json').write_text('{"format": 99}')
    with pytest.raises(ValueError, match='manifest format 99, written by another gift_nb version'): RunDir(tmp_path)


def test_torn_line_is_repaired_then_appended_after(tmp_path):
    st = RunDir(tmp_path).stage('s', {})
    st.append({'id': 0})
    with open(tmp_path/'s.jsonl', 'ab') as f: f.write(b'{"id": 1, "va')
    with pytest.warns(UserWarning, match='torn last line'): st = RunDir(tmp_path).stage('s', {})
    assert st.done_ids == {0}
    st.append({'id': 1})
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert read_jsonl(tmp_path/'s.jsonl') == [{'id': 0}, {'id': 1}]


def test_failed_writes_leave_the_old_bytes_and_name_the_file(tmp_path, monkeypatch):
    "A write that fails (here: fsync on a full disk) cuts its partial line off, keeps the old file, names the path."
    import errno, gift_nb.core as core
    from gift_nb.core import disk_error
    run = RunDir(tmp_path)
    st = run.stage('s', {}); st.append({'id': 0})
    before = (tmp_path/'s.jsonl').read_bytes(), (tmp_path/'manifest.json').read_bytes()
    def full(fd): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(core.os, 'fsync', full)
    with pytest.raises(OSError) as e: st.append({'id': 1})
    assert e.value.filename == str(tmp_path/'s.jsonl')
    msg = disk_error(e.value)
    assert msg.startswith(f"the disk is full (No space left on device) writing {tmp_path/'s.jsonl'}; ") and 'run the same command again' in msg
    with pytest.raises(OSError) as e: run.save_manifest()
    assert e.value.filename == str(tmp_path/'manifest.json')
    monkeypatch.undo()
    assert ((tmp_path/'s.jsonl').read_bytes(), (tmp_path/'manifest.json').read_bytes()) == before
    assert st.done_ids == {0} and not list(tmp_path.glob('.*.tmp'))
    assert disk_error(OSError(errno.EROFS, 'Read-only file system')).startswith('the disk turned read-only (Read-only file system); ')
    assert disk_error(OSError(errno.EACCES, 'Permission denied')) is None and disk_error(ValueError('x')) is None


def test_rundir_removes_temp_files_of_killed_writes(tmp_path):
    RunDir(tmp_path).stage('s', {}).save_image('a', torch.zeros(3, 4, 4))
    for p in (tmp_path/'.manifest.json.x1.tmp', tmp_path/'images'/'s'/'.a.png.x2.tmp'): p.write_bytes(b'half')
    RunDir(tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob('*') if p.is_file()) == ['images/s/a.png', 'manifest.json']


def test_rundir_bad_locations(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'does not exist \(create=False\)'): RunDir(tmp_path/'missing', create=False)
    with pytest.raises(FileNotFoundError, match='no .*manifest.json'): RunDir(tmp_path, create=False)
    assert not (tmp_path/'manifest.json').exists()      # nothing was written
    RunDir(tmp_path/'run'); RunDir(tmp_path/'run', create=False)   # an existing run opens
    (tmp_path/'f').write_text('')
    with pytest.raises(NotADirectoryError, match='is a file, not a folder'): RunDir(tmp_path/'f')
    ro = tmp_path/'ro'; ro.mkdir(); ro.chmod(0o555)
    try:
        target = ro if not os.access(ro, os.W_OK) else Path('/sys')   # root writes anywhere except /sys
        if not target.is_dir(): pytest.skip('no read-only folder available to this user')
        with pytest.raises(PermissionError, match='is not writable'): RunDir(target)
        with pytest.raises(PermissionError, match='cannot create run directory'): RunDir(target/'sub')
    finally: ro.chmod(0o755)


def test_stage_misuse(tmp_path):
    run = RunDir(tmp_path)
    st = run.stage('s', {})
    st.append({'id': 'a'})
    with pytest.raises(ValueError, match="already has id 'a'"): st.append({'id': 'a'})
    with pytest.raises(ValueError, match="needs an 'id' key"): st.append({'x': 1})
    with pytest.raises(TypeError, match='Record or a dict'): st.append(['a'])
    with pytest.raises(ValueError, match='outside the run directory'): st.load_image('../../etc/passwd')
    with pytest.raises(ValueError, match='no slashes'): run.stage('a/b', {})
    with pytest.raises(TypeError, match='config must be a dict'): run.stage('t', [1])
    with pytest.raises(TypeError, match='inputs must be a str'): run.stage('t', {}, inputs=3)
    st.finish()
    with pytest.raises(ValueError, match='is finished'): st.append({'id': 'b'})


def test_tmp_run_dir_and_tiny_cnn():
    with tmp_run_dir(seed=2) as run:
        st = run.stage('preds', {'model': 'TinyCNN'})
        x = random_images(2, 16)
        with torch.no_grad(): probs = TinyCNN()(x).softmax(-1)
        for i in range(2): st.append({'id': i, 'probs': probs[i], 'image': st.save_image(str(i), x[i])})
        st.finish()
        back = run.stage('preds', {'model': 'TinyCNN'}).records()
        assert back[1]['probs'] == probs[1].tolist()
        assert torch.equal(st.load_image(back[1]['image']), quantize(x[1]))


# ---------------------------------------------------------------- model cache

def test_model_cache_modes(tmp_path, monkeypatch):
    calls = []
    def model(): calls.append(1); return {'text': 'ok', 'score': math.nan}
    ims = random_images(2, 8)
    path = tmp_path/'cache'/'calls.jsonl'
    rec = ModelCache(path, mode='record')
    assert rec('m', 'p', ims, model)['text'] == 'ok' and rec.get_or_call('m', 'p', ims, model)['text'] == 'ok'
    assert len(calls) == 1 and len(rec) == 1
    monkeypatch.setenv('GIFT_NB_CACHE_MODE', 'replay')
    rep = ModelCache(path)
    assert rep.mode == 'replay' and math.isnan(rep('m', 'p', [image_hash(ims[0]), ims[1]], model)['score'])
    with pytest.raises(CacheMiss) as e: rep('m', 'p' * 100, ims, model)
    assert isinstance(e.value, KeyError)
    msg = str(e.value)
    assert rep.key('m', 'p' * 100, ims)[:16] in msg and "model 'm'" in msg and 'pp' in msg and len(msg) < 400
    with pytest.raises(CacheMiss): rep('m', 'p', ims, model, params={'temperature': 0.7})
    with pytest.raises(CacheMiss): rep('other', 'p', ims, model)
    assert len(calls) == 1
    monkeypatch.delenv('GIFT_NB_CACHE_MODE')
    off = ModelCache(path)
    assert off.mode == 'off'
    off('m', 'p', ims, model); assert len(calls) == 2
    # A torn last line from a killed recording session is dropped; the recording continues.
    with open(path, 'ab') as f: f.write(b'{"key": "ab')
    with pytest.warns(UserWarning, match='torn'):
        rec2 = ModelCache(path, mode='record'); rec2('m', 'q', (), model)
    assert [e['prompt'] for e in read_jsonl(path)] == ['p', 'q']
    with pytest.raises(ValueError, match='needs a path'): ModelCache(None, mode='record')
    with pytest.raises(TypeError, match='model_id and prompt must be str'): rec.key('m', ['chat'])
