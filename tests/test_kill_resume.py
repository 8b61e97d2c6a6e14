"""Kill anywhere, resume exactly: `gift-nb run` killed (SIGKILL) before, in the middle of or after any write of any stage
(data, counterfactuals, captions, hypotheses, verification, oracle, the report), or stopped by a disk that fills up or
turns read-only, and run again with the same command, ends with the report, the stage files and the images of an
uninterrupted run, and says which stages it reused.

Every write of a run goes through two writers: `gift_nb.runs._append_jsonl` (one record) and `gift_nb.core.atomic_write` (the
manifest, PNGs, the report). The reference run counts them; each case then picks one of those write events (seeded,
at least one in every stage) and kills the run there. A driver process (one per test worker) imports gift_nb once
and forks one child per run, so each run starts from a clean process without paying for the imports (and the world
priors) again."""
import errno, json, os, re, select, signal, subprocess, sys, warnings
from pathlib import Path
import numpy as np
import pytest
from gift_nb.core import same_data, read_jsonl, record_from_dict
from gift_nb.report import STAGES

ROOT = Path(__file__).resolve().parents[1]
SEED = 20240611
N_KILLS = 10

CONFIG = {'data': {'kind': 'world', 'task': 'red_metal', 'n': 8, 'split': 'test', 'seed': 0},
          'classifier': {'shipped': 'red_metal'}, 'k': 1, 'seed': 0,
          'counterfactuals': {'backend': 'latent-ae', 'steps': 20},
          'proposer': {'backend': 'aggregator', 'max_per_class': 6},   # 6 rules: 4 in the shipped oracle table, 2 computed
          'verify': {'n': 40, 'n_boot': 100}, 'oracle': True}

# Runs the jobs of a JSON file one after the other, each in a forked child that calls `gift_nb.cli.main` with the write
# hooks installed; prints one JSON list: how each child ended.
DRIVER = r"""
import errno, json, os, signal, sys, tempfile, traceback
from pathlib import Path
import torch
torch.set_num_threads(1)
import gift_nb.core as core, gift_nb.runs as runs
from gift_nb.cli import main
# What every run imports, once, before the forks.
import PIL.Image, safetensors.torch, scipy.ndimage, tqdm.auto, matplotlib.figure
import gift_nb.pipeline, gift_nb.report, gift_nb.classifier, gift_nb.counterfactuals, gift_nb.captioning, gift_nb.hypotheses
import gift_nb.verification, gift_nb.oracle, gift_nb.world, gift_nb.cf_quality, gift_nb.grouping, gift_nb.edit_intervener
import gift_nb.diffusion, gift_nb.vlm_captioner
torch.optim.Adam([torch.zeros(1, requires_grad=True)]).step()   # imports torch._dynamo

def stage_of(path, data):
    "The stage a write belongs to: its file's stage; the manifest's newest stage; 'report' for the report."
    path = Path(path)
    if path.name == 'manifest.json':
        order = json.loads(data)['order']
        return order[-1] if order else 'data'
    if path.suffix == '.jsonl': return path.stem
    if path.suffix == '.png': return path.parent.name
    return 'report'

def die():
    os.kill(os.getpid(), signal.SIGKILL)

class Torn:
    "A file whose write stores half the bytes, then fails as a full disk does."
    def __init__(self, f): self.f = f
    def __enter__(self): return self
    def __exit__(self, *a): self.f.close()
    def __getattr__(self, name): return getattr(self.f, name)
    def write(self, b):
        self.f.write(b[:len(b) // 2]); self.f.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

def child(job):
    log = os.open(job['log'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, 1); os.dup2(log, 2)   # the child's output goes to its log, never to the driver's answers
    fault, events = job.get('fault'), []
    append, atomic = runs._append_jsonl, core.atomic_write
    def event(kind, path, data, write):
        i = len(events)
        events.append([kind, stage_of(path, data), str(path)])
        if fault is None or i != fault['event']: return write()
        how = fault['how']
        if how == 'before': die()
        if how == 'after': write(); die()
        if how == 'middle':   # half the bytes reach the disk, then the process dies
            path = Path(path)
            if kind == 'append':
                with open(path, 'ab') as f: f.write(data[:len(data) // 2]); f.flush(); os.fsync(f.fileno())
            else:   # the atomic writer's temp file, half written
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix='.tmp')
                with os.fdopen(fd, 'wb') as f: f.write(data[:len(data) // 2]); f.flush(); os.fsync(f.fileno())
            die()
        # a disk that fills up (ENOSPC) or turns read-only (EROFS) under the real writer
        if kind == 'append':   # the line is torn by the full disk
            runs.open = lambda p, mode='r', *a, **kw: Torn(open(p, mode, *a, **kw))
            try: return write()
            finally: del runs.open
        code = getattr(errno, how)
        real = tempfile.mkstemp
        def refuse(*a, **kw): raise OSError(code, os.strerror(code))
        tempfile.mkstemp = refuse
        try: return write()
        finally: tempfile.mkstemp = real
    def hooked_append(path, obj):
        data = (json.dumps(obj) + '\n').encode()
        return event('append', path, data, lambda: append(path, obj))
    def hooked_atomic(path, data):
        return event('atomic', path, data, lambda: atomic(path, data))
    runs._append_jsonl = hooked_append
    core.atomic_write = runs.atomic_write = hooked_atomic   # runs imported its own reference
    try: rc = main(job['argv'])
    finally:
        sys.stdout.flush(); sys.stderr.flush()
        if job.get('events'): Path(job['events']).write_text(json.dumps(events))
    return rc

for line in sys.stdin:   # one job per line; one answer per job
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        rc = 99
        try: rc = child(job)
        except BaseException: traceback.print_exc()
        finally:
            sys.stdout.flush(); sys.stderr.flush(); os._exit(rc if isinstance(rc, int) else 98)
    _, st = os.waitpid(pid, 0)
    print(json.dumps({'signal': os.WTERMSIG(st)} if os.WIFSIGNALED(st) else {'rc': os.WEXITSTATUS(st)}), flush=True)
"""


class Driver:
    "The driver process of one test worker: `run(job, log)` forks a child for the job and returns how it ended and its output."
    def __init__(self, folder):
        env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(ROOT), os.environ.get('PYTHONPATH', '')]),
               'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'IN_TEST': '1'}
        self.err = folder/'driver.err'
        self.p = subprocess.Popen([sys.executable, '-c', DRIVER], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.err.open('w'), text=True)

    def run(self, job, log):
        self.p.stdin.write(json.dumps({**job, 'log': str(log)}) + '\n'); self.p.stdin.flush()
        ready, _, _ = select.select([self.p.stdout], [], [], 600)
        line = self.p.stdout.readline() if ready else ''
        assert line, f"the driver did not answer: {self.err.read_text()[-3000:]}"
        return json.loads(line), Path(log).read_text()

    def close(self):
        self.p.stdin.close(); self.p.wait(timeout=60)


@pytest.fixture(scope='module')
def driver(tmp_path_factory):
    d = Driver(tmp_path_factory.mktemp('driver'))
    yield d
    d.close()


def config(folder):
    folder.mkdir(parents=True, exist_ok=True)
    p = folder/'config.json'
    p.write_text(json.dumps({**CONFIG, 'out': str(folder/'out')}))
    return p


def plan(events):
    "The faults of the cases: >= 1 kill in every stage, more at random, before/middle/after; then a full and a read-only disk."
    rng = np.random.default_rng(SEED)
    stages = [e[1] for e in events]
    picks = [int(rng.choice([i for i, s in enumerate(stages) if s == st])) for st in STAGES]
    rest = [i for i in range(len(events)) if i not in picks]
    picks += sorted(int(i) for i in rng.choice(rest, N_KILLS - len(picks), replace=False))
    hows = rng.permutation(['before', 'middle', 'after'] * N_KILLS)[:N_KILLS]
    faults = [{'event': i, 'how': str(h)} for i, h in zip(picks, hows)]
    appends = [i for i, e in enumerate(events) if e[0] == 'append' and e[1] in STAGES[1:]]
    atomics = [i for i, e in enumerate(events) if e[0] == 'atomic' and e[1] in STAGES[1:]]
    return faults + [{'event': int(rng.choice(appends)), 'how': 'ENOSPC'}, {'event': int(rng.choice(atomics)), 'how': 'EROFS'}]


@pytest.fixture(scope='module')
def reference(tmp_path_factory, driver):
    folder = tmp_path_factory.mktemp('reference')
    cfg = config(folder)
    end, log = driver.run({'argv': ['run', str(cfg)], 'events': str(folder/'events.json')}, folder/'log.txt')
    assert end == {'rc': 0}, log[-3000:]
    events = json.loads((folder/'events.json').read_text())
    assert {e[1] for e in events} == {*STAGES, 'report'}, sorted({e[1] for e in events})
    return {'out': folder/'out', 'log': log, 'events': events, 'faults': plan(events)}


def report_content(out):
    from gift_nb.report import Report
    d = Report.from_json((out/'report.json').read_text()).without_timings()
    d['meta'].pop('run_dir')
    return d


def ids(recs): return [record_from_dict(d).id if 'kind' in d else d['id'] for d in recs]


def files(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob('*') if p.is_file())


def expected_reuse(run):
    "What the rerun must say about each stage, from what the interrupted run left."
    mf = run/'manifest.json'
    stages = json.loads(mf.read_text())['stages'] if mf.exists() else {}
    out = {}
    for s in STAGES:
        e = stages.get(s)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')   # a torn last line: the rerun cuts it off
            n = len(read_jsonl(run/f"{s}.jsonl")) if e is not None else 0
        out[s] = 'reused' if e is not None and e['status'] == 'done' else ('resumed', n) if n else 'computed'
    return out


def test_fresh_run_says_nothing_was_reused(reference):
    assert 'resumed from' not in reference['log'] and 'earlier' not in reference['log']


@pytest.mark.parametrize('case', range(N_KILLS + 2))
def test_kill_anywhere_resume_exactly(tmp_path, driver, reference, case):
    fault = reference['faults'][case]
    kind, stage, path = reference['events'][fault['event']]
    cfg = config(tmp_path)
    out, run = tmp_path/'out', tmp_path/'out'/'run'
    argv = ['run', str(cfg)]
    end, log = driver.run({'argv': argv, 'fault': fault}, tmp_path/'killed.txt')
    where = f"{fault['how']} {kind} #{fault['event']} of stage {stage} ({Path(path).name})"
    if fault['how'] in ('ENOSPC', 'EROFS'):   # one line saying what happened and that the same command resumes
        assert end == {'rc': 2}, (where, end, log[-3000:])
        err = [l for l in log.splitlines() if l.startswith('gift-nb run: error:')]
        assert len(err) == 1 and 'Traceback' not in log, log[-3000:]
        assert ('disk is full' if fault['how'] == 'ENOSPC' else 'read-only') in err[0], err[0]
        assert 'run the same command again' in err[0] and os.strerror(getattr(errno, fault['how'])) in err[0], err[0]
    else: assert end == {'signal': signal.SIGKILL}, (where, end, log[-3000:])
    want = expected_reuse(run)
    end, log = driver.run({'argv': argv}, tmp_path/'rerun.txt')   # the same command again, to the end
    assert end == {'rc': 0}, (where, log[-3000:])
    ref = reference['out']
    # the report, every stage's records (none lost or repeated, same bytes) and images, and no stray file
    assert report_content(out) == report_content(ref), where
    for s in STAGES:
        a, b = read_jsonl(run/f"{s}.jsonl"), read_jsonl(ref/'run'/f"{s}.jsonl")
        assert ids(a) == ids(b), (where, s)
        assert same_data(a, b) and (run/f"{s}.jsonl").read_bytes() == (ref/'run'/f"{s}.jsonl").read_bytes(), (where, s)
    assert files(out) == files(ref), (where, set(files(out)) ^ set(files(ref)))
    for f in files(run/'images'): assert (run/'images'/f).read_bytes() == (ref/'run'/'images'/f).read_bytes(), (where, f)
    man, rman = (json.loads((d/'manifest.json').read_text())['stages'] for d in (run, ref/'run'))
    for s in STAGES:
        assert man[s]['status'] == 'done' and all(man[s][k] == rman[s][k] for k in ('count', 'images', 'digest')), (where, s)
    # the rerun says what it reused, what it resumed and what it computed
    line = next((l for l in log.splitlines() if l.startswith('resumed from')), None)
    if all(w == 'computed' for w in want.values()): assert line is None, (where, line)
    else:
        assert line is not None, (where, log)
        assert line.startswith(f"resumed from {run}: "), line
        reused = [s for s in STAGES if want[s] == 'reused']
        computed = [s for s in STAGES if want[s] == 'computed']
        if reused: assert f"reused {', '.join(reused)}" in line, (where, line, want)
        if computed: assert f"computed {', '.join(computed)}" in line, (where, line, want)
        for s in STAGES:
            if isinstance(want[s], tuple):
                assert re.search(rf"{s} resumed \({want[s][1]} of {man[s]['count']} items done before\)", line), (where, line, want)
        times = next(l for l in log.splitlines() if l.startswith('time per stage:'))
        for s in reused: assert re.search(rf"{s} [0-9.]+ s \(earlier\)", times), (where, times)
