"""GIFT under a launcher: `torchrun` / `accelerate launch` with 2 CPU processes (gloo) write the report of one process.

Checked here on the CPU, offline: report equality (without timings and the run's path) and byte-equal stage files for
the world config and for a config of tiny random Hugging Face components; a launch killed mid-stage resumed with
another number of processes (2 -> 1 and 1 -> 2); a second launch on a run directory in use; ranks started with
different configs; a rank that crashes; a process with no unit of work (the tiny-HF case)."""
import json, os, re, shutil, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest
import yaml

from gift_nb.report import Report, STAGES

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORLD = {'data': {'kind': 'world', 'task': 'red_metal', 'n': 40, 'split': 'test', 'seed': 0},
         'classifier': {'shipped': 'red_metal'}, 'k': 1, 'seed': 0,
         'counterfactuals': {'backend': 'latent-ae', 'steps': 10},   # 40 images: chunks of 16, 16 and 8
         'proposer': {'backend': 'aggregator', 'max_per_class': 6},   # 6 rules: 4 in the shipped oracle table, 2 computed
         'verify': {'n': 40, 'n_boot': 100}, 'oracle': True}


def env(**extra):
    e = {**os.environ, 'OMP_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1', 'GIFT_NB_DIST_TIMEOUT': '300',
         'PYTHONPATH': os.pathsep.join([str(ROOT), str(ROOT/'tests'/'nonet')])}
    for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'LOCAL_WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'): e.pop(k, None)
    e.update(extra)
    return e

def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def torchrun(n, *args): return [str(BIN/'torchrun'), '--standalone', f'--nproc-per-node={n}', *args]

def gift_run(cfg, out, n=1, launcher='torchrun', timeout=600, **kw):
    "`gift-nb run CFG --out OUT` in n processes; the CompletedProcess."
    cli = ['-m', 'gift_nb.cli', 'run', str(cfg), '--out', str(out)]
    if n == 1: cmd = [sys.executable, *cli]
    elif launcher == 'torchrun': cmd = torchrun(n, *cli)
    else: cmd = [str(BIN/'accelerate'), 'launch', '--multi_gpu', f'--num_processes={n}', '--num_machines=1', '--mixed_precision=no',
                 '--dynamo_backend=no', f'--main_process_port={free_port()}', *cli]
    return subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=timeout, **kw)

def write(tmp, cfg, name='c.yaml'):
    p = Path(tmp)/name; p.write_text(yaml.safe_dump(cfg)); return p

def comparable(out) -> dict:
    "The report without what differs between two runs of the same inputs: timings, how stages were got, the run's path."
    d = Report.from_json((Path(out)/'report.json').read_text()).without_timings()
    d['meta'].pop('run_dir'); return d

def same_run(a, b):
    "Equal reports, and byte-equal stage files and images."
    assert comparable(a) == comparable(b)
    ra, rb = Path(a)/'run', Path(b)/'run'
    for s in STAGES:
        if (ra/f"{s}.jsonl").exists() or (rb/f"{s}.jsonl").exists():
            assert (ra/f"{s}.jsonl").read_bytes() == (rb/f"{s}.jsonl").read_bytes(), s
    ims = sorted(p.relative_to(ra) for p in ra.rglob('*.png'))
    assert ims == sorted(p.relative_to(rb) for p in rb.rglob('*.png'))
    assert all((ra/p).read_bytes() == (rb/p).read_bytes() for p in ims)
    assert not list(rb.glob('*.shard-*')) and not (rb/'.lock').exists()

def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-5000:]}"
    return r


@pytest.fixture(scope='module')
def world_ref(tmp_path_factory):
    "The world config run by one process: the reference every launch must reproduce."
    d = tmp_path_factory.mktemp('world')
    cfg = write(d, WORLD)
    ok(gift_run(cfg, d/'one'))
    return cfg, d/'one'


def test_two_processes_write_the_report_of_one(world_ref, tmp_path):
    cfg, one = world_ref
    r = ok(gift_run(cfg, tmp_path/'two', n=2))
    same_run(one, tmp_path/'two')
    m = json.loads((tmp_path/'two'/'run'/'manifest.json').read_text())
    assert m['world_size'] == 2 and all(m['stages'][s]['status'] == 'done' for s in STAGES)
    assert r.stdout.count('report: ') == 1   # rank 0 speaks and writes the report; rank 1 stays quiet


def wait_for(pred, proc, timeout=300):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred(): return True
        if proc.poll() is not None: return False
        time.sleep(0.05)
    return False

def children(pid) -> list:
    "The processes whose parent is `pid` (torchrun starts each worker in a session of its own)."
    out = []
    for p in Path('/proc').iterdir():
        try:
            if p.name.isdigit() and int((p/'stat').read_text().rsplit(')', 1)[1].split()[1]) == pid: out.append(int(p.name))
        except (OSError, IndexError, ValueError): pass
    return out

def kill_launch(proc):
    "SIGKILL the launcher and every process it started, as a crashed machine would stop them."
    for pid in [proc.pid] + children(proc.pid):
        try: os.kill(pid, signal.SIGKILL)
        except ProcessLookupError: pass
    proc.wait()

def lines(p) -> int: return sum(f.read_bytes().count(b'\n') for f in p) if p else 0

@pytest.mark.parametrize('first,then', [(2, 1), (1, 2)])
def test_a_killed_launch_resumes_with_another_number_of_processes(world_ref, tmp_path, first, then):
    "Killed (SIGKILL, every process) after the first chunk of stage 1 reached the disk; resumed by `then` processes."
    cfg, one = world_ref
    out = tmp_path/'o'; run = out/'run'
    cli = ['-m', 'gift_nb.cli', 'run', str(cfg), '--out', str(out)]
    cmd = [sys.executable, *cli] if first == 1 else torchrun(first, *cli)
    proc = subprocess.Popen(cmd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    files = lambda: list(run.glob('counterfactuals*.jsonl'))
    assert wait_for(lambda: lines(files()) >= 16, proc), proc.stderr.read().decode()[-3000:]
    kill_launch(proc)
    m = json.loads((run/'manifest.json').read_text())
    assert m['stages']['counterfactuals']['status'] == 'running'   # killed mid-stage
    done_before = lines(files())
    assert 16 <= done_before < 40
    r = ok(gift_run(cfg, out, n=then))
    assert f"counterfactuals resumed ({done_before} of 40 items done before)" in r.stdout   # only the unfinished chunks redone
    same_run(one, out)


def test_a_second_launch_on_a_run_directory_in_use_fails_at_once(world_ref, tmp_path):
    cfg, _ = world_ref
    run = tmp_path/'o'/'run'; run.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])
    try:
        (run/'manifest.json').write_text(json.dumps({'format': 1, 'seed': 0, 'order': [], 'stages': {}, 'notes': []}))
        (run/'.lock').write_text(json.dumps({'pid': holder.pid, 'host': socket.gethostname(), 'since': 'now', 'world_size': 2}))
        t0 = time.time()
        r = gift_run(cfg, tmp_path/'o', n=2)
        assert r.returncode != 0, r.stderr[-3000:]
        assert time.time() - t0 < 120
        assert f"is in use by another launch (pid {holder.pid} on host {socket.gethostname()}" in r.stderr
        assert r.stderr.count('is in use by another launch') == 2   # every rank says it
        assert sorted(p.name for p in run.iterdir()) == ['.lock', 'manifest.json']   # nothing written
    finally: holder.kill(); holder.wait()


MISMATCH = """
import os, sys, yaml
from pathlib import Path
from gift_nb.cli import main
cfg = yaml.safe_load(Path(sys.argv[1]).read_text()); cfg['seed'] = int(os.environ['RANK'])   # each rank its own seed
p = Path(sys.argv[2])/f"c{os.environ['RANK']}.yaml"; p.write_text(yaml.safe_dump(cfg))
sys.exit(main(['run', str(p), '--out', sys.argv[3]]))
"""

def test_ranks_started_with_different_configs_stop_before_writing(world_ref, tmp_path):
    cfg, _ = world_ref
    (tmp_path/'mismatch.py').write_text(MISMATCH)
    r = subprocess.run(torchrun(2, str(tmp_path/'mismatch.py'), str(cfg), str(tmp_path), str(tmp_path/'o')), env=env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    assert r.stderr.count('the processes of this launch were started with different configs: rank 1 differs from rank 0') == 2
    assert not (tmp_path/'o'/'run').exists()


CRASHY = """
import os, torch
from gift_nb.classifier import load_classifier
class Crashy(torch.nn.Module):
    "The shipped red_metal classifier, which fails on rank 1 at its 4th call."
    def __init__(self):
        super().__init__(); self.inner = load_classifier('red_metal', device='cpu'); self.calls = 0
    def forward(self, x):
        self.calls += 1
        if os.environ.get('RANK') == '1' and self.calls > 3: raise RuntimeError('out of memory (simulated) on rank 1')
        return self.inner(x)
def build(): return Crashy()
"""

def test_a_rank_that_crashes_stops_the_launch_and_the_run_resumes(tmp_path):
    (tmp_path/'crashy.py').write_text(CRASHY)
    cfg = write(tmp_path, {**WORLD, 'classifier': {'import': 'crashy:build', 'output': 'probs'}, 'oracle': False})
    r = gift_run(cfg, tmp_path/'o', n=2)
    assert r.returncode != 0
    assert '[rank1]: RuntimeError: a torch.nn.Module (Crashy) failed on images' in r.stderr   # rank 1's own error
    assert re.search(r"gift-nb run: error: rank 1 failed with RuntimeError: a torch.nn.Module \(Crashy\) failed on images .*: "
                     r"out of memory \(simulated\) on rank 1\. Rank 0 stopped too", r.stderr)   # rank 0 names it
    assert 'run the same launch again (with any number of processes) to resume' in r.stderr
    run = tmp_path/'o'/'run'
    assert json.loads((run/'manifest.json').read_text())['stages']['counterfactuals']['status'] == 'running'
    r2 = ok(gift_run(cfg, tmp_path/'o'))   # one process: the classifier no longer fails; what was finished is kept
    assert re.search(r"resumed from .*: reused data", r2.stdout), r2.stdout
    assert not list(run.glob('.failed-rank*')) and not list(run.glob('*.shard-*'))


def test_tiny_hf_config_two_processes_with_accelerate(tmp_path, tiny_models):
    """Every stage a Hugging Face component (diffusion, VLM, LLM, instruct-pix2pix, ViT): `accelerate launch` with 2 processes.
    6 images are explained, one chunk: rank 1 has no unit of stages 1 and 2 (more processes than work) and waits."""
    from gift_nb.world import make_dataset
    from gift_nb.core import save_png
    x = make_dataset('red_metal', 12, 0, 'test')[0]
    for i, im in enumerate(x): save_png(tmp_path/'imgs'/f"{i:02d}.png", im)
    m = tiny_models
    cfg = write(tmp_path, {'data': {'kind': 'folder', 'path': str(tmp_path/'imgs')}, 'classifier': {'hf': str(m/'vit'), 'local_files_only': True},
           'k': 1, 'counterfactuals': {'backend': 'diffusion', 'model': str(m/'ddpm'), 'local_files_only': True,
                                       'num_inference_steps': 4, 'strength': 0.5},
           'captioner': {'backend': 'vlm', 'model': str(m/'vlm'), 'max_new_tokens': 6, 'local_files_only': True},
           'proposer': {'backend': 'llm', 'model': str(m/'chat'), 'max_new_tokens': 16},
           'intervener': {'backend': 'instruct-pix2pix', 'model': str(m/'pix2pix'), 'local_files_only': True,
                          'num_inference_steps': 2, 'resolution': 32},
           'verify': {'split': 0.5, 'n_boot': 50}, 'extra_hypotheses': ['there is a red object', 'there is a cube']})
    ok(gift_run(cfg, tmp_path/'one'))
    ok(gift_run(cfg, tmp_path/'two', n=2, launcher='accelerate'))
    same_run(tmp_path/'one', tmp_path/'two')
