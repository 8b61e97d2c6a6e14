#!/usr/bin/env python
"""How often does `verify`'s CaCE agree with the shipped oracle's, with and without the boundary pseudo-observations
of `oracle.bootstrap_ci`? Prints one JSON object.

For each case (a shipped classifier and one hypothesis) and each size n, `verify` runs on `--sets` fresh validation
base sets (scene seeds 100, 101, ...). From the same per-image differences p_k(do(c=1)) - p_k(do(c=0)) the CaCE
interval is computed twice: the plain percentile bootstrap (`bounds=None`) and the adjusted one that `verify` uses
(one pseudo-observation at each of -1 and +1). Each is compared with the shipped oracle table (DESIGN.md rule:
|verify - oracle| <= sum of the half-widths). Cases: the task rule of red_metal (an effect near 1 that rests on rare
unmoved images), "there is a gray object" on two_spheres (an effect near 0 that rests on a few flips) and "there is a
cyan object" on red_metal (a moderate effect, where both intervals should behave alike).

    python bench/cace_coverage.py                 # 10 sets, n = 150, 400, 1000
    python bench/cace_coverage.py --sets 3 --sizes 150
"""
import argparse, json, os, time
import numpy as np
import torch

CASES = (('red_metal', 'there is a red metal object'), ('two_spheres', 'there is a gray object'),
         ('red_metal', 'there is a cyan object'))

def main(sets=10, sizes=(150, 400, 1000), threads=2, n_boot=1000):
    torch.set_num_threads(threads)
    from gift_nb.classifier import load_classifier
    from gift_nb.oracle import bootstrap_ci, estimates_agree, shipped_oracle
    from gift_nb.verification import verify
    from gift_nb.world import make_scenes
    out = dict(bench='cace_coverage', sets=sets, sizes=list(sizes), split='val', threads=torch.get_num_threads(), cases=[])
    t0 = time.perf_counter()
    for name, hyp in CASES:
        clf, o = load_classifier(name, device='cpu'), shipped_oracle(name).find(hyp)
        case = dict(classifier=name, hypothesis=hyp, oracle=dict(cace=round(o.cace, 4), cace_ci=[round(c, 4) for c in o.cace_ci]), sizes={})
        for n in sizes:
            agree = dict(plain=0, adjusted=0, pns=0)
            for s in range(sets):
                base = make_scenes(name, n, 100 + s, 'val')[0]
                v = verify([hyp], clf, base=base, seed=0, n_boot=n_boot, show_progress=False)[0]
                pi = v.meta['per_image']
                d = np.asarray(pi['p_do1']) - np.asarray(pi['p_do0'])
                for key, b in (('plain', None), ('adjusted', (-1.0, 1.0))):
                    ci = bootstrap_ci(d, n_boot, seed=0, bounds=b)
                    agree[key] += estimates_agree(d.mean(), ci, o.cace, o.cace_ci)
                agree['pns'] += estimates_agree(v.pns, v.pns_ci, o.pns, o.pns_ci)
            case['sizes'][str(n)] = {f'cace_agree_{k}' if k != 'pns' else 'pns_agree': f"{c}/{sets}" for k, c in agree.items()}
        out['cases'].append(case)
    out['seconds'] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--sets', type=int, default=10, help='fresh base sets per size')
    ap.add_argument('--sizes', type=int, nargs='+', default=[150, 400, 1000], help='base images per set')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 2)')
    a = ap.parse_args()
    main(a.sets, a.sizes, a.threads or int(os.environ.get('OMP_NUM_THREADS') or 2))
