"""tools/gpu_smoke.py: the CPU self-check passes (CPU against CPU, both pipelines), no GPU is a skip (or an error with
--require-gpu), and the comparison flags a changed accepted set, P̂NS or validity rate."""
import copy, importlib.util, json, os, subprocess, sys
from pathlib import Path
import pytest, torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / 'tools' / 'gpu_smoke.py'
_spec = importlib.util.spec_from_file_location('gpu_smoke', SCRIPT)
smoke = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(smoke)

def _run(*args, timeout=300):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1'}
    r = subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    return r, (json.loads(r.stdout.splitlines()[-1]) if r.stdout.strip() else None)

def test_cpu_self_check(tmp_path):
    r, d = _run('--device', 'cpu', '--n', '4', '--n-verify', '20', '--out', str(tmp_path / 's.json'))
    assert r.returncode == 0, r.stderr[-3000:]
    assert d['ok'] and d == json.loads((tmp_path / 's.json').read_text())
    assert [(c['pipeline'], c['precision']) for c in d['checks']] == [('default', 'fp32'), ('tiny_hf', 'fp32')]
    for c in d['checks']:
        assert c['problems'] == [] and c['n_pns_compared'] > 0 and c['max_pns_diff'] == 0 and c['validity_diff'] == 0
        assert c['n_cace_compared'] > 0 and c['max_cace_diff'] == 0
        assert set(c['devices'].values()) == {'cpu'} and c['identical_to_cpu']   # the default's reference is run_demo itself

@pytest.mark.skipif(torch.cuda.is_available(), reason='there is a GPU')
def test_no_gpu_skips_or_fails_when_required():
    r, d = _run()
    assert r.returncode == 0 and d['skipped'] == 'no CUDA device'
    r, d = _run('--require-gpu')
    assert r.returncode == 1 and 'no CUDA device' in d['error']
    r, _ = _run('--device', 'tpu')
    assert r.returncode == 2

def test_compare_flags_mismatches():
    v = lambda h, s, p: {'hypothesis': h, 'status': s, 'pns': p, 'cace': p / 2}
    ref = {'verifications': [v('a', 'accepted', 0.95), v('b', 'rejected', 0.4), v('c', 'rejected', float('nan'))],
           'flip_stats': {'flip_rate': 0.9}}
    assert smoke.compare(ref, copy.deepcopy(ref), 0.03, 0.1)['ok']
    near = copy.deepcopy(ref); near['verifications'][0]['pns'] = 0.93; near['flip_stats']['flip_rate'] = 0.85
    assert smoke.compare(ref, near, 0.03, 0.1)['ok']
    other = copy.deepcopy(ref); other['verifications'][0]['status'] = 'inconclusive'
    c = smoke.compare(ref, other, 0.03, 0.1)
    assert not c['ok'] and 'accepted hypotheses differ' in c['problems'][0]
    far = copy.deepcopy(ref); far['verifications'][1]['pns'] = 0.5
    assert 'P̂NS differs' in smoke.compare(ref, far, 0.03, 0.1)['problems'][0]
    nan = copy.deepcopy(ref); nan['verifications'][1]['pns'] = float('nan')
    assert not smoke.compare(ref, nan, 0.03, 0.1)['ok']
    cace = copy.deepcopy(ref); cace['verifications'][1]['cace'] = 0.25
    assert smoke.compare(ref, cace, 0.03, 0.1, 0.02)['problems'] == ["CaCE differs by more than 0.02 for 1 hypotheses: 'b' 0.2 vs 0.25"]
    low = copy.deepcopy(ref); low['flip_stats']['flip_rate'] = 0.7
    assert 'validity rate' in smoke.compare(ref, low, 0.03, 0.1)['problems'][0]
