"""The `gift-nb` console script: the installed entry point end to end, the error paths, determinism, light import."""
import json, subprocess, sys
from pathlib import Path
import pytest
from gift_nb import __version__
from gift_nb.cli import main, run_demo, NOT_IMPLEMENTED
from gift_nb.world import TASKS

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent/'gift-nb'   # the console script installed beside this interpreter


def run_script(*args, cwd=ROOT):
    if not SCRIPT.exists(): pytest.fail(f"console script {SCRIPT} missing: run `pip install -e .` (make install)")
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def without_timings(report): return {k: v for k, v in report.items() if k != 'timings_s'}


def test_console_script_demo(tmp_path):
    out = tmp_path/'demo'
    r = run_script('demo', '--out', str(out))
    assert r.returncode == 0, f"gift-nb demo failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    rep = json.loads((out/'report.json').read_text())
    assert (out/'world.png').stat().st_size > 10_000
    assert not [p.name for p in out.iterdir() if p.name.endswith('.tmp') or p.name.startswith('.')]  # atomic writes
    assert rep['command'] == 'demo' and rep['task']['name'] == 'red_metal' and rep['seed'] == 0 and rep['n'] == 1000
    assert rep['task']['rule_text'] == 'there is a red metal object' and rep['task']['bias_text'] is None
    assert rep['gift_nb'] == __version__
    acc = rep['classifier']['test']
    assert acc['n'] == 1000 and acc['correct'] == round(acc['accuracy'] * 1000)
    assert acc['ci'][0] <= acc['accuracy'] <= acc['ci'][1] and acc['accuracy'] > 0.9
    assert 'train_biased' not in rep['classifier']   # red_metal has no bias
    top = rep['oracle']['top']
    assert len(top) == 5 and rep['oracle']['n_rules'] >= 5
    for row in top: assert row['pns_ci'][0] <= row['pns'] <= row['pns_ci'][1] and row['rule']
    lows = [row['pns_ci'][0] for row in top]
    assert lows == sorted(lows, reverse=True)   # ranked by the lower bound
    assert set(rep['timings_s']) == {'world', 'classifier', 'oracle', 'total'}
    assert rep['not_implemented'] == [f"GIFT stage {s}" for s in NOT_IMPLEMENTED]
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith('Not implemented yet: GIFT stages 1 counterfactuals'), last


@pytest.mark.parametrize('args, says', [
    (['demo', '--task', 'red_cube'], "choose from 'red_metal', 'cube_or_cyan', 'two_spheres', 'blue_biased'"),
    (['demo', '--out', '{file}/sub'], "is not a writable folder"),
    (['demo', '--n', '2'], "--n must be an integer from 16"),
])
def test_console_script_bad_input(tmp_path, args, says):
    (tmp_path/'file').write_text('a file, not a folder')
    r = run_script(*[a.format(file=tmp_path/'file') for a in args], cwd=tmp_path)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert says in r.stderr, r.stderr
    assert not (tmp_path/'gift_nb_runs').exists()   # failed before writing anything


def test_unknown_task_in_process_names_tasks(capsys):
    assert main(['demo', '--task', 'nope']) == 2
    err = capsys.readouterr().err
    assert all(t in err for t in TASKS)


def test_help_and_version(capsys):
    assert main(['--help']) == 0
    assert 'demo' in capsys.readouterr().out
    assert main(['demo', '--help']) == 0
    out = capsys.readouterr().out
    assert all(o in out for o in ('--task', '--out', '--n', '--seed', 'blue_biased'))
    assert main(['--version']) == 0
    assert main([]) == 2   # a command is required


def test_same_seed_same_report(tmp_path):
    quiet = lambda s: None
    a = run_demo('blue_biased', tmp_path/'a', n=32, seed=3, echo=quiet)
    b = run_demo('blue_biased', tmp_path/'b', n=32, seed=3, echo=quiet)
    assert without_timings(a) == without_timings(b)
    assert json.loads((tmp_path/'a'/'report.json').read_text()) == a
    assert 'train_biased' in a['classifier'] and a['classifier']['train_biased']['n'] == 32
    c = run_demo('blue_biased', tmp_path/'c', n=32, seed=4, echo=quiet)
    assert (tmp_path/'a'/'world.png').read_bytes() != (tmp_path/'c'/'world.png').read_bytes()
    assert without_timings(c)['seed'] == 4


def test_default_out_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(['demo', '--task', 'two_spheres', '--n', '16']) == 0
    assert json.loads((tmp_path/'gift_nb_runs'/'demo-two_spheres'/'report.json').read_text())['task']['name'] == 'two_spheres'


def test_import_is_light():
    code = "import sys, gift_nb.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('matplotlib', 'transformers', 'diffusers') or m in ('gift_nb.classifier', 'gift_nb.oracle')))"
    r = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert r.stdout.strip() == '[]', r.stdout


def test_missing_weights_exit_1(tmp_path, monkeypatch, capsys):
    import gift_nb.classifier
    monkeypatch.setattr(gift_nb.classifier, 'WEIGHTS_DIR', tmp_path/'no-weights')
    assert main(['demo', '--n', '16', '--out', str(tmp_path/'out')]) == 1
    assert 'make weights' in capsys.readouterr().err
