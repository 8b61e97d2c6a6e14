#!/usr/bin/env python
"""Stage-1 benchmark: latent counterfactuals of the shipped classifiers, scored on the world, against its targets.

    python bench/counterfactuals.py                      # all four shipped classifiers, 64 test images each
    python bench/counterfactuals.py --n 32 red_metal     # one classifier, fewer images
    python bench/counterfactuals.py --set steps=80 noise=0.2   # explainer options
    python bench/counterfactuals.py --method scene-search      # the scene-search reference only (default: both)

Prints one JSON line per method, classifier and direction (validity, median changed-pixel fraction, semantic validity,
semantic counterfactuals per second of search), one overall line per method and, last, all of them as one JSON object
(`results[method][classifier or ALL][direction]`). Targets: validity >= 0.9 per direction, median
changed fraction <= 0.10, semantic >= 0.70 overall, >= 1 semantic counterfactual per second on 2 cores."""
import argparse, itertools, json, os, time

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('classifiers', nargs='*', default=['red_metal', 'cube_or_cyan', 'two_spheres', 'blue_biased'])
    ap.add_argument('--n', type=int, default=64, help='test images per classifier (balanced by the task rule)')
    ap.add_argument('--seed', type=int, default=2024, help='data seed')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 2)')
    ap.add_argument('--set', nargs='*', default=[], help='explainer options, key=value')
    ap.add_argument('--method', choices=['latent', 'scene-search', 'both'], default='both',
                    help='latent search (the default explainer), the scene-search reference (a perfect generator), or both')
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or 2)
    import torch
    torch.set_num_threads(a.threads)
    from gift_nb.classifier import load_classifier
    from gift_nb.world import make_dataset
    from gift_nb.counterfactuals import CounterfactualExplainer
    from gift_nb.autoencoder import load_autoencoder
    from gift_nb.cf_quality import SceneSearchExplainer, cf_metrics, edit_candidates
    methods = ['latent', 'scene-search'] if a.method == 'both' else [a.method]
    kw = {k: json.loads(v) for k, v in (s.split('=', 1) for s in a.set)}
    ae = load_autoencoder()
    tots = {m: dict(n=0, valid=0, semantic=0, seconds=0.) for m in methods}
    results = {m: {} for m in methods}
    for name, method in itertools.product(a.classifiers, methods):
        tot = tots[method]
        clf = load_classifier(name, device='cpu')
        x, y, scenes = make_dataset(clf.task, a.n, seed=a.seed, split='test')
        ex = CounterfactualExplainer(clf, ae, show_progress=False, **kw) if method == 'latent' else SceneSearchExplainer(clf, show_progress=False)
        t = time.perf_counter(); recs = ex(x) if method == 'latent' else ex(x, scenes); dt = time.perf_counter() - t
        m = cf_metrics(recs, x, ex.images, scenes, clf.task.rule, ae, seconds=dt)
        # ceiling: share of attempts whose source scene admits a cheap edit that changes the rule's truth at all
        # (e.g. cube_or_cyan 1->0 with two cubes has none, so no counterfactual of it can be semantic)
        rule = clf.task.rule
        can = [any(bool(rule(e)) != bool(rule(scenes[r.source])) for e, _ in edit_candidates(scenes[r.source], add_at=(32, 40)))
               for r in recs]
        for d in ('1->0', '0->1', 'all'):
            r = m[d]
            cd = [c for c, rr in zip(can, recs) if d == 'all' or rr.direction == d]
            row = dict(method=method, classifier=name, direction=d, n=r['n'], validity=round(r['validity'], 3),
                       changed_median=round(r['changed_median'], 4), l1=round(r['l1'], 4),
                       semantic=round(r['semantic'], 3), semantic_of_all=round(r['semantic_of_all'], 3), semantic_loose=round(r['semantic_loose'], 3),
                       ceiling=round(sum(cd) / max(len(cd), 1), 3),
                       **({'semantic_per_s': round(r['semantic_per_s'], 3), 'seconds': round(dt, 1),
                           'realism': round(r['realism'], 4), 'realism_source': round(r['realism_source'], 4)}
                          if d == 'all' else {}))
            results[method].setdefault(name, {})[d] = {k: v for k, v in row.items() if k not in ('method', 'classifier', 'direction')}
            print(json.dumps(row), flush=True)
        tot['n'] += m['all']['n']; tot['valid'] += round(m['all']['validity'] * m['all']['n'])
        tot['semantic'] += m['all']['n_semantic']; tot['seconds'] += dt
    for method, tot in tots.items():
        row = dict(method=method, classifier='ALL', n=tot['n'], validity=round(tot['valid'] / tot['n'], 3),
                   semantic=round(tot['semantic'] / max(tot['valid'], 1), 3),
                   semantic_per_s=round(tot['semantic'] / tot['seconds'], 3), seconds=round(tot['seconds'], 1),
                   threads=a.threads, options=kw if method == 'latent' else {})
        results[method]['ALL'] = {'all': {k: v for k, v in row.items() if k not in ('method', 'classifier')}}
        print(json.dumps(row))
    print(json.dumps(dict(bench='counterfactuals', n_per_classifier=a.n, seed=a.seed, threads=a.threads, results=results)))

if __name__ == '__main__':
    main()
