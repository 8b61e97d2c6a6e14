"""`python -m bench`: every script of bench/ in exactly one group, no `sys.path` edits, `--list`, and a tiny run that
writes the suite's JSON."""
import importlib.util, json, os, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location('bench_suite', ROOT / 'bench' / '__main__.py')   # the runner, by its file
suite = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(suite)

def _run(*args, timeout=120):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
    return subprocess.run([sys.executable, '-m', 'bench', *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)

def test_every_script_in_exactly_one_group():
    files = sorted(p.stem for p in (ROOT / 'bench').glob('*.py')
                   if not p.stem.startswith('_') and p.stem != 'benchmark')
    listed = [s for ss in suite.GROUPS.values() for s in ss]
    assert sorted(listed) == files                      # each file once, nothing else
    assert set(suite.GROUPS) == {'speed', 'targets', 'studies'}
    assert suite.group_of()['render_speed'] == 'speed'
    assert 'benchmark' not in listed and '_ltx_options' not in listed

def test_group_of_catches_a_script_in_two_groups(monkeypatch):
    groups = {g: dict(ss) for g, ss in suite.GROUPS.items()}
    groups['studies']['render_speed'] = []
    monkeypatch.setattr(suite, 'GROUPS', groups)
    with pytest.raises(ValueError, match='render_speed is in both speed and studies'): suite.group_of()

def test_no_sys_path_edits():
    offenders = [p.name for p in (ROOT / 'bench').glob('*.py') if re.search(r'sys\.path\.(insert|append)|sys\.path\s*=', p.read_text())]
    assert offenders == []

def test_flatten():
    d = {'a': {'b': 1, 'c': [1, 2]}, 'rows': [{'method': 'IG', 'auc': 0.5}, {'method': 'LTX', 'auc': 0.4}],
         'res': [{'classifier': 'x', 'split': 'test', 'v': 1}, {'classifier': 'x', 'split': 'train', 'v': 2}], 'e': {}}
    assert suite.flatten(d) == {'a.b': 1, 'a.c': [1, 2], 'rows.IG.auc': 0.5, 'rows.LTX.auc': 0.4,
                                'res.x:test.v': 1, 'res.x:train.v': 2, 'e': {}}
    assert suite.last_json('progress\n{"a": 1}\n\n') == {'a': 1} and suite.last_json('{"a": 1}\ndone\n') is None

def test_list():
    r = _run('--list')
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for g, ss in suite.GROUPS.items():
        for s in ss: assert sum(l.split()[:2] == [g, s] for l in lines) == 1, (g, s)
    assert len(lines) == sum(map(len, suite.GROUPS.values()))
    assert _run('--only', 'nope', '--list').returncode == 2

def test_tiny_run_writes_one_json(tmp_path):
    out = tmp_path / 'suite.json'
    r = _run('--only', 'speed', '--scripts', 'render_speed', '--args', 'render_speed=--n 20 --runs 1 --size 32',
             '--threads', '1', '--out', str(out))
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    assert set(d) == {'env', 'figures', 'runs'}
    e = d['env']
    assert e['threads'] == 1 and e['cpu_count'] == os.cpu_count() and e['python'] and e['date']
    assert len(e['load_avg_before']) == 3 and len(e['load_avg_after']) == 3 and e['torch']
    run = d['runs']['render_speed']
    assert run['status'] == 'ok' and run['group'] == 'speed' and run['args'] == ['--n', '20', '--runs', '1', '--size', '32']
    assert list(d['runs']) == ['render_speed']
    f = d['figures']
    assert f['speed.render_speed.images_per_s_median'] > 0
    assert f['speed.render_speed.images'] == 20 and f['speed.render_speed.size'] == 32
    assert f['speed.render_speed.threads'] == 1   # --threads reached the script through OMP_NUM_THREADS
