#!/usr/bin/env python
"""`gift-nb demo` of every shipped task: the same seed gives the same report with 1 and 2 torch threads and on a repeat;
and how far the top hypothesis and its P̂NS move over seeds 0-4. Prints JSON and writes it to `--out`.

    python -m bench.determinism                                 # every shipped task, demo sizes, seeds 0-4
    python -m bench.determinism --tasks red_metal --n 16 --n-verify 60 --seeds 2 --out /tmp/det.json

Each demo runs in its own interpreter (`gift_nb.cli.main`, from the repository root) in a fresh temporary folder, with
OMP_NUM_THREADS = MKL_NUM_THREADS = N and `torch.set_num_threads(N)`. Per task, seed `--seed`: one run with 1 thread,
one with 2 threads, and a repeat with 1 thread; two reports are the same when their `Report.without_timings()` JSON is
equal once the temporary output folder is written as `<out>` (the report names its run folder). For each task the JSON
says `identical` (all three the same) and, if not, the first differing keys with both values.

The seed study runs seeds 0 .. `--seeds`-1 with 1 thread (the first is the determinism run's seed-0 report when
`--seed` is 0): per task the top accepted hypothesis of each seed (`Report.top()`), how many seeds agree with seed 0,
the top hypotheses' P̂NS, their spread (max - min) and standard deviation (population), and the P̂NS seed 0's top
hypothesis gets in each seed where it was verified. Exit status 1 when some task's reports differ."""
import argparse, datetime, importlib.metadata, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the demo in a fresh interpreter with N torch threads: python -c RUNNER N demo ARGS...
RUNNER = ("import sys, torch; torch.set_num_threads(int(sys.argv[1])); "
          "print('torch threads:', torch.get_num_threads(), file=sys.stderr); "
          "from gift_nb.cli import main; sys.exit(main(sys.argv[2:]))")


def run_demo(task, n, n_verify, seed, threads, out, extra=(), timeout=None) -> dict:
    "Run `gift-nb demo` in a subprocess with `threads` torch threads into the folder `out`; the report's JSON as a dict."
    env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads)}
    cmd = [sys.executable, '-c', RUNNER, str(threads), 'demo', '--task', task, '--out', str(out), '--n', str(n),
           '--n-verify', str(n_verify), '--seed', str(seed), *extra]
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode: raise RuntimeError(f"demo {task} seed {seed} with {threads} threads failed ({r.returncode}): {r.stderr[-2000:]}")
    if f'torch threads: {threads}' not in r.stderr: raise RuntimeError(f"the demo did not run with {threads} torch threads: {r.stderr[-500:]}")
    return json.loads((Path(out)/'report.json').read_text())


def comparable(report:dict, out) -> dict:
    "`Report.without_timings()` of a report dict, with the output folder written as '<out>'."
    from gift_nb.report import Report
    d, out = Report.from_dict(report).without_timings(), str(out)
    def sub(x):
        if isinstance(x, dict): return {k: sub(v) for k, v in x.items()}
        if isinstance(x, list): return [sub(v) for v in x]
        return x.replace(out, '<out>') if isinstance(x, str) else x
    return sub(d)


def differences(a, b, path='', limit=5) -> list:
    "The first `limit` differences between two JSON values: [{'key': 'a.b[2].c', 'a': ..., 'b': ...}] (NaN equals NaN)."
    out = []
    def walk(x, y, p):
        if len(out) >= limit: return
        if isinstance(x, dict) and isinstance(y, dict):
            for k in list(x) + [k for k in y if k not in x]:
                if k not in x or k not in y: out.append({'key': f'{p}.{k}'.lstrip('.'), 'a': x.get(k, '<missing>'), 'b': y.get(k, '<missing>')})
                else: walk(x[k], y[k], f'{p}.{k}')
                if len(out) >= limit: return
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y): out.append({'key': f'{p}.length'.lstrip('.'), 'a': len(x), 'b': len(y)})
            for i, (u, v) in enumerate(zip(x, y)): walk(u, v, f'{p}[{i}]')
        elif not (x == y or (x != x and y != y)):   # NaN == NaN here
            out.append({'key': p.lstrip('.') or '(root)', 'a': _short(x), 'b': _short(y)})
    walk(a, b, path)
    return out[:limit]


def _short(v): return v if not isinstance(v, (str, list, dict)) or len(json.dumps(v)) <= 200 else json.dumps(v)[:200] + '...'


def top_of(report:dict):
    "(text, P̂NS) of the report's top accepted hypothesis, or (None, None)."
    from gift_nb.report import Report
    t = Report.from_dict(report).top()
    return (t[1].hypothesis, t[1].pns) if t else (None, None)


def check_task(task, n, n_verify, seed, timeout=None, log=print) -> tuple:
    "1 thread, 2 threads, 1 thread again: the comparison record and the 1-thread report."
    reps = {}
    for name, threads in (('threads_1', 1), ('threads_2', 2), ('repeat_threads_1', 1)):
        with tempfile.TemporaryDirectory(prefix='gift_nb-det-') as tmp:
            t = time.perf_counter()
            raw = run_demo(task, n, n_verify, seed, threads, Path(tmp)/'out', timeout=timeout)
            reps[name] = (raw, comparable(raw, Path(tmp)/'out'))
            log(f"{task} seed {seed} {name}: {time.perf_counter() - t:.0f} s")
    base = reps['threads_1'][1]
    rec = {'task': task, 'seed': seed, 'n': n, 'n_verify': n_verify}
    for name in ('threads_2', 'repeat_threads_1'):
        d = differences(base, reps[name][1])
        rec[f'same_{name}'] = not d
        if d: rec[f'first_differences_{name}'] = d
    rec['identical'] = rec['same_threads_2'] and rec['same_repeat_threads_1']
    rec['top'], rec['top_pns'] = top_of(reps['threads_1'][0])
    return rec, reps['threads_1'][0]


def seed_study(task, n, n_verify, seeds, have=None, timeout=None, log=print) -> dict:
    "Top accepted hypothesis and its P̂NS over `seeds` (1 thread); `have`: {seed: report} already run."
    from gift_nb.report import Report
    reps = dict(have or {})
    for s in seeds:
        if s in reps: continue
        with tempfile.TemporaryDirectory(prefix='gift_nb-det-') as tmp:
            t = time.perf_counter()
            reps[s] = run_demo(task, n, n_verify, s, 1, Path(tmp)/'out', timeout=timeout)
            log(f"{task} seed {s}: {time.perf_counter() - t:.0f} s")
    tops = {s: top_of(reps[s]) for s in seeds}
    first = tops[seeds[0]][0]
    def pns_of(rep, text):
        v = next((v for v in Report.from_dict(rep).verifications if v.hypothesis == text), None)
        return None if v is None or v.pns != v.pns else v.pns
    pns = [p for _, p in tops.values() if p is not None]
    return {'task': task, 'seeds': list(seeds),
            'top_per_seed': [{'seed': s, 'top': tops[s][0], 'pns': tops[s][1]} for s in seeds],
            'agree_with_seed_0': sum(tops[s][0] == first for s in seeds), 'n_seeds': len(seeds),
            'distinct_tops': sorted({t for t, _ in tops.values()}, key=str),
            'top_pns': pns, 'pns_spread': round(max(pns) - min(pns), 4) if pns else None,
            'pns_std': round(statistics.pstdev(pns), 4) if pns else None,
            'seed_0_top_pns_per_seed': [pns_of(reps[s], first) for s in seeds] if first else None}


def _git(*a):
    try: return subprocess.run(['git', *a], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError): return ''


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    from gift_nb.world import TASKS   # every task with a shipped classifier: the demo's --task choices
    ap.add_argument('--tasks', default=','.join(TASKS), help='comma-separated shipped tasks (default: every task of gift_nb.world.TASKS)')
    ap.add_argument('--n', type=int, default=48, help="images explained (default: the demo's, %(default)s)")
    ap.add_argument('--n-verify', type=int, default=200, help="fresh verification scenes (default: the demo's, %(default)s)")
    ap.add_argument('--seed', type=int, default=0, help='seed of the thread and repeat comparison (default: %(default)s)')
    ap.add_argument('--seeds', type=int, default=5, help='seeds 0 .. SEEDS-1 of the seed study; 0 skips it (default: %(default)s)')
    ap.add_argument('--timeout', type=float, default=None, help='seconds one demo may run (default: no limit)')
    ap.add_argument('--out', default=str(ROOT/'nbs/results/determinism.json'), help="JSON file written ('' for none; default: %(default)s)")
    a = ap.parse_args(argv)
    log = lambda s: print(s, file=sys.stderr, flush=True)
    try: torch_v = importlib.metadata.version('torch')
    except importlib.metadata.PackageNotFoundError: torch_v = None
    env = {'commit': _git('rev-parse', 'HEAD') or None, 'dirty': bool(_git('status', '--porcelain', '--untracked-files=no')),
           'torch': torch_v, 'python': sys.version.split()[0], 'cpu_count': os.cpu_count(),
           'load_avg_before': [round(v, 2) for v in os.getloadavg()],
           'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}
    tasks = [t for t in a.tasks.split(',') if t]
    t0, det, seeds = time.perf_counter(), [], []
    for task in tasks:
        rec, rep = check_task(task, a.n, a.n_verify, a.seed, a.timeout, log)
        det.append(rec)
        log(f"{task}: {'identical' if rec['identical'] else 'DIFFERENT: ' + json.dumps({k: v for k, v in rec.items() if k.startswith('first_')})}")
        if a.seeds:
            seeds.append(seed_study(task, a.n, a.n_verify, list(range(a.seeds)), {a.seed: rep}, a.timeout, log))
    env.update(load_avg_after=[round(v, 2) for v in os.getloadavg()], seconds=round(time.perf_counter() - t0, 1))
    res = {'command': 'python -m bench.determinism ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'env': env, 'n': a.n, 'n_verify': a.n_verify, 'seed': a.seed, 'all_identical': all(r['identical'] for r in det),
           'determinism': det, 'seed_study': seeds}
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(res, indent=1, ensure_ascii=False) + '\n')
    print(json.dumps(res, ensure_ascii=False))
    return 0 if res['all_identical'] else 1


if __name__ == '__main__':
    sys.exit(main())
