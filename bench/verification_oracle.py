#!/usr/bin/env python
"""Stage-4 targets: `verify` with the embedded `WorldIntervener` against each shipped classifier's oracle.
Prints one JSON object.

For each shipped classifier, the hypotheses are `target_hypotheses(name)`: the task rule, the bias rule (blue_biased),
the oracle's 10 best rules and every single-attribute concept. They are verified on fresh validation scenes (the oracle
used 10,000 test scenes; the classifiers were trained on the train split) and each estimate is compared with the
shipped oracle's: they agree when |verify - oracle| <= sum of the two CI half-widths (DESIGN.md "Metrics"), for CaCE and
P̂NS. `--seeds 7 8 9` repeats the whole check on several fresh base sets (scene seeds) and counts over all of them.
Also printed: status and P̂NS of the three red_metal hypotheses, and the large-gray-cylinder row of blue_biased next to
the oracle's.

`calibration` says whether the disagreements are more than chance. For every CaCE comparison whose two intervals have
width, z = (verify - oracle) / sqrt(s_v^2 + s_o^2) with s = half-width / 1.96: for unbiased estimates with calibrated
intervals z is standard normal (mean 0, sd 1). `expected_disagreements` sums, over those comparisons, the probability
that such a z exceeds the agreement rule's threshold 1.96 (h_v + h_o) / sqrt(h_v^2 + h_o^2): the number of misses the rule
makes by chance alone (about 1.4% of comparisons at n = 1,000 against the oracle's 10,000)."""
import argparse, json, math, os, time
import numpy as np
import torch
from gift_nb.classifier import load_classifier
from gift_nb.oracle import shipped_oracle
from gift_nb.verification import compare_with_oracle, target_hypotheses, verify
from gift_nb.world import make_scenes

NAMES = ('red_metal', 'cube_or_cyan', 'two_spheres', 'blue_biased')
RED_METAL = ('there is a red metal object', 'there is a red object', 'there is a metal object')
GRAY = 'there is a large gray cylinder'

def _r(x, d=4): return round(float(x), d)
def _row(v):
    return {'status': v.status, 'n': v.n, 'pns': _r(v.pns), 'pns_ci': [_r(c) for c in v.pns_ci],
            'cace': _r(v.cace), 'cace_ci': [_r(c) for c in v.cace_ci]}

def main(n=1000, seeds=(7,), oracle_top=10, threads=2, names=NAMES):
    torch.set_num_threads(threads)
    out = {'bench': 'verification_oracle', 'intervener': 'world', 'base_images': n, 'scene_seeds': list(seeds),
           'split': 'val', 'oracle_top': oracle_top, 'threads': torch.get_num_threads(), 'classifiers': {}}
    calib = []
    for name in names:
        clf, tab = load_classifier(name, device='cpu'), shipped_oracle(name)
        hyps = target_hypotheses(name, oracle_top=oracle_top)
        agg = dict(rules=0, pns_agree=0, cace_agree=0, both_agree=0, missing_in_oracle=0, seconds=0.0, disagreements=[],
                   accepted=[])
        for s in seeds:
            base = make_scenes(name, n, s, 'val')[0]
            t = time.perf_counter()
            res = verify(hyps, clf, base=base, seed=0, per_image=False, show_progress=False)
            agg['seconds'] += time.perf_counter() - t
            cmp = compare_with_oracle(res, tab)
            agg['missing_in_oracle'] += sum(not r['in_oracle'] for r in cmp)
            cmp = [r for r in cmp if r['in_oracle']]
            by = {v.hypothesis: v for v in res}
            for r in cmp:
                v, o = by[r['hypothesis']], tab.find(r['hypothesis'])
                hv, ho = (v.cace_ci[1] - v.cace_ci[0]) / 2, (o.cace_ci[1] - o.cace_ci[0]) / 2
                if hv > 0 and ho > 0:
                    calib.append(dict(z=(v.cace - o.cace) / (math.hypot(hv, ho) / 1.959964),
                                      p_miss=math.erfc(1.959964 * (hv + ho) / math.hypot(hv, ho) / math.sqrt(2))))
            agg['rules'] += len(cmp)
            agg['pns_agree'] += sum(r['pns_agrees'] for r in cmp)
            agg['cace_agree'] += sum(r['cace_agrees'] for r in cmp)
            agg['both_agree'] += sum(r['agrees'] for r in cmp)
            for r in cmp:
                if not r['agrees']:
                    v, o = by[r['hypothesis']], tab.find(r['hypothesis'])
                    agg['disagreements'].append({'seed': s, 'hypothesis': r['hypothesis'],
                                                 'failed': [m for m in ('pns', 'cace') if not r[m + '_agrees']],
                                                 'verify': _row(v), 'oracle': _row(o)})
            agg['accepted'].append([v.hypothesis for v in res if v.status == 'accepted'])
            if name == 'red_metal':
                out.setdefault('red_metal_hypotheses', []).append({'seed': s, **{h: _row(by[h]) for h in RED_METAL}})
            if name == 'blue_biased':
                out.setdefault('blue_biased_gray_cylinder', []).append({'seed': s, 'hypothesis': GRAY,
                                                                       'verify': _row(by[GRAY]), 'oracle': _row(tab.find(GRAY))})
        agg['seconds'] = round(agg['seconds'], 1)
        agg['hypotheses_per_base_set'] = len(hyps)
        out['classifiers'][name] = agg
    c = out['classifiers'].values()
    out['total'] = {k: sum(a[k] for a in c) for k in ('rules', 'pns_agree', 'cace_agree', 'both_agree')}
    z = np.array([d['z'] for d in calib])
    out['calibration'] = dict(metric='cace', comparisons=len(z), z_mean=_r(z.mean()) if len(z) else None,
                              z_sd=_r(z.std(ddof=1)) if len(z) > 1 else None,
                              share_abs_z_over_1_96=_r((abs(z) > 1.959964).mean()) if len(z) else None,
                              expected_disagreements=_r(sum(d['p_miss'] for d in calib), 2),
                              observed_disagreements=out['total']['rules'] - out['total']['cace_agree'])
    print(json.dumps(out))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=1000, help='base images per base set')
    ap.add_argument('--seeds', type=int, nargs='+', default=[7], help='scene seeds of the fresh validation base sets')
    ap.add_argument('--oracle-top', type=int, default=10, help="the oracle's best rules added to the hypotheses")
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 2)')
    ap.add_argument('--names', nargs='+', default=list(NAMES), help='shipped classifiers')
    a = ap.parse_args()
    main(a.n, a.seeds, a.oracle_top, a.threads or int(os.environ.get('OMP_NUM_THREADS') or 2), a.names)
