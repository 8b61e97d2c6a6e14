#!/usr/bin/env python
"""`gift-nb demo` end to end: wall time, per-stage times and the result targets, as JSON.

    python bench/demo.py                       # red_metal (the default demo)
    python bench/demo.py --all                 # the four tasks
    python bench/demo.py cube_or_cyan --n 48 --n-verify 200 --seed 0

Each task runs the installed console script in a fresh temporary folder (no resumed stages), so the wall time counts
the interpreter start, imports, loading the shipped models and writing the report. Per task it prints the stage
times, the top accepted hypothesis with P̂NS, its 95% Wilson interval and the oracle's value, whether that hypothesis
is equivalent to the task's rule (`world.equivalent`, target for red_metal, cube_or_cyan, two_spheres), and whether
the accepted set agrees with the oracle (target for blue_biased): every accepted hypothesis is accepted by the oracle
too and every rule GIFT verified that the oracle accepts is accepted by GIFT, with the gray-cylinder bias rule
verified (as a user-supplied hypothesis when stage 3 does not propose it) and its estimate agreeing with the oracle's."""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TASKS = ['red_metal', 'cube_or_cyan', 'two_spheres', 'blue_biased']


def one(task, n, n_verify, seed, threads):
    from gift_nb.world import equivalent, get_task, rule_from_json
    script = Path(sys.executable).parent/'gift-nb'
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, 'OMP_NUM_THREADS': str(threads), 'MKL_NUM_THREADS': str(threads)}
        t0 = time.perf_counter()
        r = subprocess.run([str(script), 'demo', '--task', task, '--out', tmp, '--n', str(n), '--n-verify', str(n_verify),
                            '--seed', str(seed)], capture_output=True, text=True, env=env)
        wall = time.perf_counter() - t0
        if r.returncode: return {'task': task, 'error': r.stderr[-2000:]}
        rep = json.loads((Path(tmp)/'report.json').read_text())
    t = get_task(task)
    vers = {v['hypothesis']: v for v in rep['verifications']}
    orc = {o['hypothesis']: o for o in rep['oracle']}
    hyps = {h['text']: h for h in rep['hypotheses']}
    ranked = sorted(rep['verifications'], key=lambda v: (-v['pns_ci'][0], -v['pns']))
    acc = [v for v in ranked if v['status'] == 'accepted']
    top = acc[0] if acc else None
    out = {'task': task, 'rule': str(t.rule), 'wall_s': round(wall, 1),
           'stage_s': {k: round(v, 1) for k, v in rep['timings'].items() if v is not None},
           'n_explain': rep['meta']['n_explain'], 'n_verify': rep['meta']['n_verify'],
           'flip_rate': rep['flip_stats']['flip_rate'], 'captions': rep['caption_stats'].get('n'),
           'verified': len(vers), 'accepted': [v['hypothesis'] for v in acc]}
    if top:
        o = orc.get(top['hypothesis'], {})
        out['top'] = {'hypothesis': top['hypothesis'], 'pns': round(top['pns'], 3), 'pns_ci': [round(x, 3) for x in top['pns_ci']],
                      'cace': round(top['cace'], 3), 'oracle_pns': o.get('pns') and round(o['pns'], 3),
                      'oracle_pns_ci': o.get('pns_ci') and [round(x, 3) for x in o['pns_ci']], 'oracle_agrees': o.get('agrees'),
                      'source': hyps.get(top['hypothesis'], {}).get('source'),
                      'equivalent_to_task_rule': top['rule'] is not None and equivalent(rule_from_json(top['rule']), t.rule)}
    # the accepted set against the oracle, on the rules GIFT verified (and the oracle measured)
    both = [h for h in vers if h in orc]
    out['accepted_set_vs_oracle'] = {
        'gift_accepted_oracle_not': [h for h in both if vers[h]['status'] == 'accepted' and orc[h]['status'] != 'accepted'],
        'oracle_accepted_gift_not': [h for h in both if orc[h]['status'] == 'accepted' and vers[h]['status'] != 'accepted'],
        'estimates_disagree': [h for h in both if not orc[h]['agrees']], 'n_compared': len(both)}
    out['accepted_set_agrees'] = not (out['accepted_set_vs_oracle']['gift_accepted_oracle_not']
                                      or out['accepted_set_vs_oracle']['oracle_accepted_gift_not'])
    if t.bias is not None:
        b = str(t.bias.rule); v, o = vers.get(b), orc.get(b)
        out['bias_rule'] = {'hypothesis': b, 'proposed_by_stage_3': hyps.get(b, {}).get('source') not in (None, 'user'),
                            'status': v and v['status'], 'pns': v and round(v['pns'], 3), 'pns_ci': v and [round(x, 3) for x in v['pns_ci']],
                            'oracle_status': o and o['status'], 'oracle_pns': o and round(o['pns'], 3), 'agrees': o and o['agrees']}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('tasks', nargs='*', default=['red_metal'])
    ap.add_argument('--all', action='store_true', help='all four tasks')
    ap.add_argument('--n', type=int, default=48); ap.add_argument('--n-verify', type=int, default=200)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=None, help='torch threads of the demo (default: $OMP_NUM_THREADS, else all cores)')
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or os.cpu_count() or 1)
    tasks = TASKS if a.all else a.tasks
    res = [one(t, a.n, a.n_verify, a.seed, a.threads) for t in tasks]
    print(json.dumps({'command': 'python bench/demo.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
                      'cpu_count': os.cpu_count(), 'threads': a.threads, 'n': a.n, 'n_verify': a.n_verify, 'seed': a.seed,
                      'target_wall_s': 180, 'results': res}))


if __name__ == '__main__':
    main()
