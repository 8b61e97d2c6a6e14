"""Run bench/'s scripts as one suite and write one JSON of their figures.

    python -m bench --list                                  # the groups, their scripts and the flags the suite passes
    python -m bench --only speed --out /tmp/speed.json      # the speed group (small sizes: minutes)
    python -m bench --out nbs/results/bench_suite.json      # every group (`make bench`)
    python -m bench --scripts render_speed --args "render_speed=--n 200 --runs 1" --threads 1

Each script runs in its own interpreter (`python -m bench.<script> FLAGS`, from the repository root) and prints its
figures as one JSON object on its last stdout line; the suite flattens that object into dotted keys
`<group>.<script>.<figure>` (nested dicts by key, lists of records by their name-like field, else by position).
`--threads N` sets OMP_NUM_THREADS and MKL_NUM_THREADS for every script, which then uses N torch threads; without it
each script keeps the environment's setting, or its own default. The JSON:

    {"env": {"commit", "dirty", "torch", "python", "threads", "cpu_count", "load_avg_before", "load_avg_after", "date", ...},
     "figures": {"speed.render_speed.images_per_s_median": 2500, ...},
     "runs": {"render_speed": {"group", "seconds", "status": "ok" | "error" | "skipped", "message", "args", "command"}}}

`runs[script].args` are the flags the suite passed, and the figures repeat the sizes (e.g. `speed.classifier_speed.n_images`).
The speed group spells out its sizes: the scripts' own, except verification_speed's (500 base images, 3 runs instead
of 1,000 and 5; a throughput, so the figure stays comparable), so that it finishes within five minutes on two idle cores
(under two on a loaded two-core machine with one thread). The targets and studies groups run each script with its own
defaults, the sizes the notebooks quote: they take hours. The oracle-scored benchmark is `gift-nb bench`, not part of
any group."""
import argparse, datetime, importlib.metadata, json, os, platform, shlex, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent

# group -> script -> the flags the suite passes (speed: small sizes; the others: the scripts' own defaults)
GROUPS = {
    'speed': {   # the scripts' own sizes, spelt out, except verification_speed's (standalone: --n 1000 --runs 5)
        'import_time': ['--runs', '5'],
        'render_speed': ['--n', '2000', '--runs', '5'],
        'classifier_speed': ['--n', '2048', '--runs', '5'],
        'verification_speed': ['--n', '500', '--runs', '3'],
        'craft_speed': ['--n', '100', '--runs', '5', '--threads', '1'],   # one thread; xplique / ours ratios when xplique is importable
    },
    'targets': {
        'counterfactuals': [], 'captioning_quality': [], 'hypotheses': [], 'verification_oracle': [],
        'cace_coverage': [], 'classifier_accuracy': [], 'classifier_train_time': [], 'ltx_table': [], 'texplain': [],
        'demo': [],            # the demo's wall time (target 180 s) and its result targets
        'gift_256': [],        # GIFT on 256 images of a freshly trained classifier (target 20 s on 2 idle cores)
        'notebook_times': [],  # the 60 s budget of each notebook under test
        'determinism': [],     # same seed, same report with 1 and 2 threads and on a repeat; top hypothesis over seeds 0-4
        'scale_out': [],       # 1 vs 2 processes of a torchrun launch: per-stage throughput, merge overhead, equal reports
    },
    'studies': {'ltx_deletion_diagnosis': [], 'blue_biased_ablation': [], 'world_probe': [],
                'seed_systems': []},   # CRAFT, LTX and TExplain on the benchmark suite -> nbs/results/bench/seeds.json
}
LABELS = ('method', 'name', 'classifier', 'condition', 'task', 'hypothesis', 'notebook', 'baseline')   # fields naming a record
QUALIFIERS = ('seed', 'split', 'metric')   # fields that tell apart records of one name (alone only where nothing else does)


def scripts() -> list:
    "Every script in bench/ (not the package's own modules or helpers starting with `_`)."
    return sorted(p.stem for p in BENCH.glob('*.py') if not p.stem.startswith('_'))


def group_of() -> dict:
    "script -> its group; raises if a script is in two groups, in none, or a group names a script that is not there."
    seen, errors = {}, []
    for g, ss in GROUPS.items():
        for s in ss:
            if s in seen: errors.append(f"{s} is in both {seen[s]} and {g}")
            seen[s] = g
    have = set(scripts())
    errors += [f"bench/{s}.py is in no group" for s in sorted(have - set(seen))]
    errors += [f"{s} is in a group but bench/{s}.py does not exist" for s in sorted(set(seen) - have)]
    if errors: raise ValueError('; '.join(errors) + ' (edit GROUPS in bench/__main__.py)')
    return seen


def _label(items: list):
    "The field (or pair of fields) that names each record of `items` uniquely, if any."
    def key(v, ls): return ':'.join(str(v[l]) for l in ls)
    both = LABELS + QUALIFIERS
    cands = [(l,) for l in LABELS] + [(a, b) for i, a in enumerate(LABELS) for b in both[i + 1:]] + [(q,) for q in QUALIFIERS]
    for ls in cands:
        if all(l in v and isinstance(v[l], (str, int)) for v in items for l in ls) and len({key(v, ls) for v in items}) == len(items):
            return ls, key
    return None, None


def flatten(d, prefix: str = '') -> dict:
    "Nested dicts -> {'a.b.c': value}; a list of records is keyed by its naming field (else by position); other lists stay values."
    out = {}
    if isinstance(d, dict) and d:
        for k, v in d.items(): out.update(flatten(v, f'{prefix}.{k}' if prefix else str(k)))
    elif isinstance(d, list) and d and all(isinstance(v, dict) for v in d):
        ls, key = _label(d)
        for i, v in enumerate(d):
            name = key(v, ls) if ls else str(i)
            out.update(flatten({k: x for k, x in v.items() if not ls or k not in ls}, f'{prefix}.{name}'))
    else: out[prefix] = d
    return out


def last_json(stdout: str):
    "The JSON object on the last non-empty line of `stdout` (None if there is none)."
    lines = [l for l in stdout.splitlines() if l.strip()]
    if not lines: return None
    try: d = json.loads(lines[-1])
    except json.JSONDecodeError: return None
    return d if isinstance(d, dict) else None


def _git(*a) -> str:
    try: return subprocess.run(['git', *a], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError): return ''


def environment(threads) -> dict:
    try: torch = importlib.metadata.version('torch')
    except importlib.metadata.PackageNotFoundError: torch = None
    omp = os.environ.get('OMP_NUM_THREADS')
    return {'commit': _git('rev-parse', 'HEAD') or None, 'dirty': bool(_git('status', '--porcelain', '--untracked-files=no')),
            'torch': torch, 'python': platform.python_version(), 'platform': platform.platform(),
            'threads': threads or (int(omp) if omp and omp.isdigit() else omp),
            'threads_from': '--threads' if threads else ('OMP_NUM_THREADS' if omp else "each script's default"),
            'cpu_count': os.cpu_count(), 'load_avg_before': [round(v, 2) for v in os.getloadavg()],
            'date': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}


def run_script(name: str, args: list, env: dict, timeout=None) -> tuple:
    "Run one script; its run record and its figures (the JSON object on its last stdout line)."
    cmd = [sys.executable, '-m', f'bench.{name}', *args]
    rec = {'seconds': None, 'status': 'error', 'message': None, 'args': args, 'command': shlex.join(['python', *cmd[1:]])}
    t = time.perf_counter()
    try: r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        rec.update(seconds=round(time.perf_counter() - t, 1), message=f'timed out after {timeout} s')
        return rec, {}
    rec['seconds'] = round(time.perf_counter() - t, 1)
    figs = last_json(r.stdout)
    if figs is None:
        rec['message'] = (f'exit status {r.returncode}; ' if r.returncode else '') + 'no JSON object on the last stdout line: ' + \
                         (r.stderr.strip()[-1500:] or r.stdout.strip()[-500:])
        return rec, {}
    if r.returncode: rec['message'] = f'exit status {r.returncode} (figures collected): ' + r.stderr.strip()[-1000:]
    else: rec.update(status='ok')
    return rec, figs


def run(groups, only_scripts=None, skip=(), overrides=None, threads=None, timeout=None, log=print) -> dict:
    "Run the scripts of `groups` and return the suite's JSON (env, figures, runs)."
    group_of()
    env = dict(os.environ)
    if threads: env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    res = {'env': environment(threads), 'figures': {}, 'runs': {}}
    res['env']['groups'] = list(groups)
    for g in groups:
        for name, args in GROUPS[g].items():
            if only_scripts and name not in only_scripts: continue
            args = (overrides or {}).get(name, args)
            if name in skip:
                res['runs'][name] = {'group': g, 'seconds': 0, 'status': 'skipped', 'message': 'skipped by --skip', 'args': args}
                continue
            log(f"[{g}] {name} {shlex.join(args)}".rstrip() + ' ...')
            rec, figs = run_script(name, args, env, timeout)
            res['runs'][name] = {'group': g, **rec}
            res['figures'].update({f'{g}.{name}.{k}': v for k, v in flatten(figs).items()})
            log(f"[{g}] {name}: {rec['status']} in {rec['seconds']} s" + (f" ({rec['message'][:300]})" if rec['message'] else ''))
    res['env']['load_avg_after'] = [round(v, 2) for v in os.getloadavg()]
    return res


def _doc(name: str) -> str:
    import ast
    d = ast.get_docstring(ast.parse((BENCH / f'{name}.py').read_text())) or ''
    return d.strip().splitlines()[0] if d.strip() else ''


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog='python -m bench', description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog='\n'.join(__doc__.splitlines()[1:]))
    ap.add_argument('--only', default=None, metavar='GROUP[,GROUP]', help=f"run these groups ({', '.join(GROUPS)}; default: all)")
    ap.add_argument('--out', default=None, metavar='FILE', help='write the JSON here (default: stdout)')
    ap.add_argument('--threads', type=int, default=None, metavar='N', help='OMP_NUM_THREADS / MKL_NUM_THREADS of every script')
    ap.add_argument('--list', action='store_true', help='list the groups, their scripts and flags, and exit')
    ap.add_argument('--scripts', default=None, metavar='S1,S2', help='run only these scripts of the chosen groups')
    ap.add_argument('--skip', default='', metavar='S1,S2', help="don't run these scripts (recorded as skipped)")
    ap.add_argument('--args', action='append', default=[], metavar='SCRIPT=FLAGS',
                    help="replace the flags the suite passes to SCRIPT, e.g. --args 'render_speed=--n 200 --runs 1'")
    ap.add_argument('--timeout', type=float, default=None, metavar='S', help='seconds each script may run (default: no limit)')
    a = ap.parse_args(argv)
    try: group_of()
    except ValueError as e: ap.exit(2, f"python -m bench: {e}\n")
    groups = a.only.split(',') if a.only else list(GROUPS)
    bad = [g for g in groups if g not in GROUPS]
    if bad: ap.error(f"unknown group {', '.join(bad)}: choose from {', '.join(GROUPS)}")
    names = {s for ss in GROUPS.values() for s in ss}
    only_scripts = set(a.scripts.split(',')) if a.scripts else None
    skip = set(filter(None, a.skip.split(',')))
    overrides = {}
    for o in a.args:
        k, sep, v = o.partition('=')
        if not sep: ap.error(f"--args {o!r}: expected SCRIPT=FLAGS")
        overrides[k] = shlex.split(v)
    unknown = sorted(((only_scripts or set()) | skip | set(overrides)) - names)
    if unknown: ap.error(f"unknown script {', '.join(unknown)}: see --list")
    if a.list:
        for g in groups:
            for s, args in GROUPS[g].items():
                print(f"{g:8} {s:23} {shlex.join(overrides.get(s, args)) or '(its defaults)':32} {_doc(s)}")
        return 0
    res = run(groups, only_scripts, skip, overrides, a.threads, a.timeout, log=lambda m: print(m, file=sys.stderr, flush=True))
    text = json.dumps(res, indent=1)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text + '\n')
        print(f"wrote {a.out}: {len(res['figures'])} figures from {len(res['runs'])} scripts", file=sys.stderr)
    else: print(text)
    return 1 if any(r['status'] == 'error' for r in res['runs'].values()) else 0


if __name__ == '__main__':
    sys.exit(main())
