#!/usr/bin/env python
"""GIFT over 1 and 2 processes of one launch (`torchrun`, gloo, one torch thread each): per-stage throughput, the time
rank 0 waits for the others at the end of each shared stage and merges their shard files, and whether the two reports
are the same. Prints one JSON object.

    python -m bench.scale_out                          # world config, 64 images, 3 runs of each
    python -m bench.scale_out --n 128 --runs 5

Each run starts `gift-nb run` (1 process) or `torchrun --standalone --nproc-per-node 2 -m gift_nb.cli run` (2) in a fresh
folder, so the wall time includes the interpreters' start, imports and model loading. Stage times are rank 0's, from
the run's manifest: `seconds` (its own items), `wait_seconds` (waiting for the other rank at the stage's end) and
`merge_seconds` (merging the shards into the stage's file); a stage's wall time is their sum. Per-item costs of the
1-process runs are what `nbs/results/scale_out.md` extrapolates from."""
import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SHARED = ('counterfactuals', 'captions', 'verification', 'oracle')   # the stages the processes share
STAGES = ('data', 'counterfactuals', 'captions', 'hypotheses', 'verification', 'oracle')


def config(n, n_verify, steps):
    return {'data': {'kind': 'world', 'task': 'cube_or_cyan', 'n': n, 'split': 'test', 'seed': 0},
            'classifier': {'shipped': 'cube_or_cyan'}, 'k': 1, 'seed': 0,
            'counterfactuals': {'backend': 'latent-ae', 'steps': steps},
            'proposer': {'backend': 'aggregator', 'max_per_class': 10},
            'verify': {'n': n_verify, 'n_boot': 1000}, 'oracle': True}


def one(cfg_path, procs, tmp):
    out = Path(tmp)/f"p{procs}"
    cli = ['-m', 'gift_nb.cli', 'run', str(cfg_path), '--out', str(out)]
    cmd = [sys.executable, *cli] if procs == 1 else [str(BIN/'torchrun'), '--standalone', f'--nproc-per-node={procs}', *cli]
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'HF_HUB_OFFLINE': '1'}
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    if r.returncode: raise SystemExit(f"{procs} processes failed:\n{r.stderr[-3000:]}")
    m = json.loads((out/'run'/'manifest.json').read_text())['stages']
    st = {s: {'seconds': m[s].get('seconds', 0.0), 'wait_s': m[s].get('wait_seconds', 0.0), 'merge_s': m[s].get('merge_seconds', 0.0),
              'items': m[s]['count']} for s in STAGES if s in m}
    for v in st.values(): v['wall_s'] = v['seconds'] + v['wait_s'] + v['merge_s']
    rep = json.loads((out/'report.json').read_text())
    for k in ('timings', 'reuse'): rep.pop(k)
    rep['meta'].pop('run_dir')
    return wall, st, rep


def _share(units:int) -> float:
    "Rank 0's share of a stage's units dealt round-robin over 2 processes."
    return -(-units // 2) / units if units else 1.0

def _share_scenes(n:int, chunk:int) -> float:
    "Rank 0's share of the oracle's scenes (chunks of `chunk`, dealt round-robin over 2 processes)."
    starts = list(range(0, n, chunk))
    return sum(min(chunk, n - c) for c in starts[0::2]) / n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--n', type=int, default=64, help='images explained (chunks of 16)')
    ap.add_argument('--n-verify', type=int, default=200, help='fresh world scenes of stage 4')
    ap.add_argument('--steps', type=int, default=80, help='latent search steps of stage 1')
    ap.add_argument('--runs', type=int, default=3, help='runs of each process count (medians)')
    a = ap.parse_args(argv)
    load0 = os.getloadavg()
    res = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp)/'c.json'; cfg.write_text(json.dumps(config(a.n, a.n_verify, a.steps)))
        equal = True
        for i in range(a.runs):   # alternate 1 and 2 processes, so load changes hit both
            reps = {}
            for p in (1, 2):
                with tempfile.TemporaryDirectory(dir=tmp) as t:
                    wall, st, reps[p] = one(cfg, p, t)
                res[p].append((wall, st))
            equal &= reps[1] == reps[2]
    med = statistics.median
    out = {'config': config(a.n, a.n_verify, a.steps), 'runs': a.runs, 'threads_per_process': 1, 'reports_equal': equal}
    for p, rs in res.items():
        stages = {}
        for s in rs[0][1]:
            w = med(r[1][s]['wall_s'] for r in rs); items = rs[0][1][s]['items']
            stages[s] = {'wall_s': round(w, 3), 'items': items, 'items_per_s': round(items / w, 2) if w > 0 else None,
                         'own_s': round(med(r[1][s]['seconds'] for r in rs), 3),
                         'wait_s': round(med(r[1][s]['wait_s'] for r in rs), 3), 'merge_s': round(med(r[1][s]['merge_s'] for r in rs), 3)}
        out[f"procs_{p}"] = {'wall_s_median': round(med(r[0] for r in rs), 2), 'wall_s_all': [round(r[0], 2) for r in rs], 'stages': stages}
    out['stage_speedup_2_vs_1'] = {s: round(out['procs_1']['stages'][s]['wall_s'] / out['procs_2']['stages'][s]['wall_s'], 2)
                                   for s in SHARED if s in out['procs_2']['stages'] and out['procs_2']['stages'][s]['wall_s'] > 0}
    out['merge_s_total_2'] = round(sum(v['merge_s'] for v in out['procs_2']['stages'].values()), 3)
    s1, s2 = out['procs_1']['stages'], out['procs_2']['stages']
    out['stages_s_1'] = round(sum(v['wall_s'] for v in s1.values()), 2)
    out['stages_s_2_measured'] = round(sum(v['wall_s'] for v in s2.values()), 2)
    # the model the results page extrapolates with: shared stages divide by the process count, the others do not
    out['stages_s_2_predicted'] = round(sum(v['wall_s'] / (2 if s in SHARED else 1) for s, v in s1.items()) + out['merge_s_total_2'], 2)
    # each shared stage as fixed + items x per-item, from rank 0's own time with 1 process (all items) and with 2 (its
    # share f of them): per_item = (own_1 - own_2) / ((1 - f) items), fixed = own_1 - items per_item
    share = {'counterfactuals': _share(-(-a.n // 16)), 'captions': _share(-(-s1['captions']['items'] // 16)),
             'verification': _share(s1['verification']['items']), 'oracle': _share_scenes(500, 200)}
    out['cost_model_1'] = {}
    for s, f in share.items():
        if s not in s1 or f >= 1: continue
        o1, o2, n = s1[s]['own_s'], s2[s]['own_s'], s1[s]['items']
        per = max(0.0, (o1 - o2) / ((1 - f) * n))
        out['cost_model_1'][s] = {'rank0_share': round(f, 3), 'per_item_s': round(per, 4), 'fixed_s': round(o1 - per * n, 3)}
    out['per_item_s_1'] = {s: round(v['wall_s'] / v['items'], 4) for s, v in out['procs_1']['stages'].items() if v['items']}
    out['machine'] = {'cpu_count': os.cpu_count(), 'load_avg_before': [round(x, 2) for x in load0],
                      'load_avg_after': [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
