"""The `gift-nb` console script: the installed entry point end to end, the error paths, determinism, light import."""
import json, subprocess, sys
from pathlib import Path
import pytest
from gift_nb import __version__
from gift_nb.cli import main, run_demo
from gift_nb.world import TASKS

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent/'gift-nb'   # the console script installed beside this interpreter
SMALL = ['--n', '6', '--n-verify', '30', '--n-oracle', '30']


def run_script(*args, cwd=ROOT):
    if not SCRIPT.exists(): pytest.fail(f"console script {SCRIPT} missing: run `pip install -e .` (make install)")
    return subprocess.run([str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={'OMP_NUM_THREADS': '1', 'PATH': '/usr/bin:/bin', 'IN_TEST': '1',
                               'PYTHONPATH': str(ROOT/'tests'/'nonet'), 'GIFT_NB_NO_NETWORK': '1'})   # no network: tests/nonet


def test_console_script_demo(tmp_path):
    out = tmp_path/'demo'
    r = run_script('demo', '--out', str(out), *SMALL)
    assert r.returncode == 0, f"gift-nb demo failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    rep = json.loads((out/'report.json').read_text())
    assert {p.name for p in out.iterdir()} == {'report.json', 'report.html', 'run'}
    assert not [p.name for p in out.iterdir() if p.name.endswith('.tmp') or p.name.startswith('.')]  # atomic writes
    m = rep['meta']
    assert m['task'] == 'red_metal' and m['seed'] == 0 and m['n_explain'] == 6 and m['n_verify'] == 30
    assert m['task_rule'] == 'there is a red metal object' and m['verify_on'] == 'fresh'
    assert len(rep['verifications']) == len(rep['hypotheses']) >= 1
    assert set(rep['timings']) == {'data', 'counterfactuals', 'captions', 'hypotheses', 'verification', 'oracle'}
    for v in rep['verifications']: assert v['pns_ci'][0] <= v['pns'] + 1e-9 and v['pns'] <= v['pns_ci'][1] + 1e-9
    html = (out/'report.html').read_text()
    assert html.startswith('<!DOCTYPE html>') and 'data:image/png;base64,' in html and 'http://' not in html
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith(f'gift-nb {__version__} demo: task red_metal')
    assert any(l.startswith('time per stage: data') for l in lines), lines
    assert any(l.startswith(('top accepted hypothesis:', 'no hypothesis was accepted')) for l in lines), lines
    assert lines[-1].startswith('report: ')


@pytest.mark.parametrize('args, says', [
    (['demo', '--task', 'red_cube'], "choose from 'red_metal', 'cube_or_cyan', 'two_spheres', 'blue_biased'"),
    (['demo', '--out', '{file}/sub'], "is not a writable folder"),
    (['demo', '--n', '2'], "--n must be an integer from 4"),
    (['demo', '--n-verify', '3'], "--n-verify must be an integer from 20"),
    (['demo', '--hypothesis', 'a purple elephant'], "is not a world rule"),
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
    assert all(o in out for o in ('--task', '--out', '--n', '--n-verify', '--seed', '--hypothesis', '--n-oracle', 'blue_biased'))
    assert main(['--version']) == 0
    assert main([]) == 2   # a command is required


def test_same_seed_same_report_and_bias_hypothesis(tmp_path):
    quiet = lambda s: None
    a = run_demo('blue_biased', tmp_path/'a', n=6, n_verify=30, seed=3, n_oracle=30, echo=quiet)
    b = run_demo('blue_biased', tmp_path/'b', n=6, n_verify=30, seed=3, n_oracle=30, echo=quiet)
    da, db = a.without_timings(), b.without_timings()
    for d in (da, db): d['meta'].pop('run_dir')
    assert da == db
    # the task's training bias is verified as a user-supplied hypothesis
    users = [v for h, v in a.pairs if h.source == 'user' or h.provenance.get('user_supplied')]
    assert [v.hypothesis for v in users] == ['there is a large gray cylinder']
    assert a.oracle_of(users[0].id) is not None


def test_default_out_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(['demo', '--task', 'two_spheres', '--n', '4', '--n-verify', '20', '--n-oracle', '20']) == 0
    rep = json.loads((tmp_path/'gift_nb_runs'/'demo-two_spheres'/'report.json').read_text())
    assert rep['meta']['task'] == 'two_spheres'


def test_import_is_light():
    code = "import sys, gift_nb.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in " \
           "('matplotlib', 'transformers', 'diffusers') or m in ('gift_nb.classifier', 'gift_nb.oracle', 'gift_nb.pipeline')))"
    r = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert r.stdout.strip() == '[]', r.stdout


def test_missing_weights_exit_1(tmp_path, monkeypatch, capsys):
    import gift_nb.model_io   # where the package's weights folder is named
    monkeypatch.setattr(gift_nb.model_io, 'WEIGHTS_DIR', tmp_path/'no-weights')
    assert main(['demo', '--n', '4', '--n-verify', '20', '--out', str(tmp_path/'out')]) == 1
    assert 'make weights' in capsys.readouterr().err


@pytest.mark.parametrize('hf, says', [('./no_such_model', "no_such_model' does not exist"),
                                      ('someorg/not-a-model', 'is not in the local Hugging Face cache')])
def test_unavailable_hf_classifier_is_one_line(tmp_path, hf, says):
    "A missing model folder or an id that is neither cached nor downloadable (the tests run offline): one line, exit 2."
    (tmp_path/'c.yaml').write_text(f"classifier:\n  hf: {hf}\ndata:\n  kind: world\n  task: red_metal\n")
    r = run_script('run', 'c.yaml', cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert says in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_summary_lines_say_what_a_resumed_run_reused():
    "One line names the reused, resumed and computed stages; reused stages' times are marked as earlier; no dangling colon."
    from types import SimpleNamespace as NS
    from gift_nb.cli import summary_lines
    r = lambda how, before, count: {'how': how, 'before': before, 'count': count}
    rep = NS(top=lambda: None, accepted=[], verifications=[NS(hypothesis='x', status='rejected')], pairs=[],
             oracle_of=lambda i: None, meta={'run_dir': '/runs/a/run'},
             timings={'data': 0.5, 'counterfactuals': 5.3, 'captions': 0.3, 'hypotheses': 0.7},
             reuse={'data': r('reused', 48, 48), 'counterfactuals': r('reused', 8, 8), 'captions': r('resumed', 32, 48),
                    'hypotheses': r('computed', 0, 11)})
    lines = summary_lines(rep, 2.0)
    assert '0 accepted of 1 verified' in lines
    assert ('resumed from /runs/a/run: reused data, counterfactuals; captions resumed (32 of 48 items done before); '
            'computed hypotheses') in lines
    assert lines[-1] == ('time per stage: data 0.5 s (earlier), counterfactuals 5.3 s (earlier), captions 0.3 s (resumed), '
                         'hypotheses 0.7 s; wall 2.0 s')
    rep.reuse = {s: r('computed', 0, 1) for s in rep.timings}   # a fresh run says nothing about resuming
    assert not any('resumed' in l or 'earlier' in l for l in summary_lines(rep))
