"""A GIFT run killed in stage 1 (SIGKILL), in stage 3 (SIGKILL) or interrupted in stage 4 (SIGINT, i.e. Ctrl-C) and
started again ends with the same report as an uninterrupted run (timings aside), reusing what was finished."""
import json, os, signal, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

# The child process: optionally dies (SIGKILL) or is interrupted (SIGINT) right after its n-th record of one stage,
# counts the calls of the counterfactual explainer, and prints the report without timings as JSON.
CHILD = r"""
import json, os, signal, sys
import torch
torch.set_num_threads(1)
from gift_nb.core import Stage
from gift_nb.counterfactuals import CounterfactualExplainer
run_dir, stage, n, sig = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
# Python raises KeyboardInterrupt on SIGINT only if SIGINT was not ignored when it started, and a non-interactive shell
# starts background jobs (`make test &`) with SIGINT ignored: install Python's handler so the test does not depend on that.
signal.signal(signal.SIGINT, signal.default_int_handler)
calls = {'cf': 0}
orig_append, orig_call = Stage.append, CounterfactualExplainer.__call__
def append(self, rec):
    orig_append(self, rec)
    if self.name == stage:
        calls[stage] = calls.get(stage, 0) + 1
        if calls[stage] == n: os.kill(os.getpid(), getattr(signal, sig))
def call(self, *a, **kw):
    calls['cf'] += 1
    return orig_call(self, *a, **kw)
Stage.append, CounterfactualExplainer.__call__ = append, call
from gift_nb.classifier import load_classifier
from gift_nb.pipeline import GIFT
from gift_nb.world import make_dataset
clf = load_classifier('red_metal', device='cpu')
data = make_dataset('red_metal', 8, 0, 'test')
try:
    rep = GIFT(clf, n_verify=40, chunk=4, oracle=False).run(data, run_dir, extra_hypotheses=['there is a large gray cylinder'])
except KeyboardInterrupt:
    print(json.dumps({'interrupted': True, 'calls': calls})); sys.exit(130)
d = rep.without_timings(); d['meta'].pop('run_dir')
print(json.dumps({'report': d, 'calls': calls, 'timings': rep.timings}))
"""


def child(run_dir, stage='none', n=0, sig='SIGKILL'):
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'OMP_NUM_THREADS': '1', 'IN_TEST': '1'}
    r = subprocess.run([sys.executable, '-c', CHILD, str(run_dir), stage, str(n), sig], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=600)
    out = r.stdout.strip().splitlines()
    return r.returncode, (json.loads(out[-1]) if out and out[-1].startswith('{') else None), r.stderr


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    rc, out, err = child(tmp_path_factory.mktemp('ref')/'run')
    assert rc == 0, err[-3000:]
    return out


def lines(p): return Path(p).read_bytes().splitlines()


def test_killed_in_stage_1(tmp_path, reference):
    run = tmp_path/'run'
    rc, out, err = child(run, 'counterfactuals', 5)   # chunks of 4: dies after the first record of the second chunk
    assert rc == -signal.SIGKILL, (rc, err[-2000:])
    assert len(lines(run/'counterfactuals.jsonl')) == 5
    before = lines(run/'counterfactuals.jsonl')
    man = json.loads((run/'manifest.json').read_text())
    assert man['stages']['counterfactuals']['status'] == 'running' and 'captions' not in man['stages']
    rc, out, err = child(run)
    assert rc == 0, err[-3000:]
    assert out['calls']['cf'] == 1   # only the unfinished chunk was searched again
    assert lines(run/'counterfactuals.jsonl')[:5] == before
    assert out['report'] == reference['report']


def test_killed_in_stage_3(tmp_path, reference):
    run = tmp_path/'run'
    rc, out, err = child(run, 'hypotheses', 2)
    assert rc == -signal.SIGKILL, (rc, err[-2000:])
    cf = (run/'counterfactuals.jsonl').read_bytes(); caps = (run/'captions.jsonl').read_bytes()
    assert len(lines(run/'hypotheses.jsonl')) == 2
    rc, out, err = child(run)
    assert rc == 0, err[-3000:]
    assert out['calls']['cf'] == 0   # stages 0-2 were reused, not recomputed
    assert (run/'counterfactuals.jsonl').read_bytes() == cf and (run/'captions.jsonl').read_bytes() == caps
    assert out['report'] == reference['report']
    assert out['timings']['counterfactuals'] > 0   # the stored time of the finished stage is kept


def test_ctrl_c_in_stage_4(tmp_path, reference):
    run = tmp_path/'run'
    rc, out, err = child(run, 'verification', 2, 'SIGINT')
    assert rc == 130 and out['interrupted'], (rc, err[-2000:])
    assert 'resume' in err   # the log says how to go on
    assert len(lines(run/'verification.jsonl')) == 2
    rc, out, err = child(run)
    assert rc == 0, err[-3000:]
    assert out['calls']['cf'] == 0
    assert out['report'] == reference['report']
