#!/usr/bin/env python
"""Stage-2 benchmark: quality of the shipped change captioner (issue 7 targets). Prints one JSON line per condition and,
last, one JSON object of every condition (without the quoted misses).

    python bench/captioning_quality.py                     # 1,000 held-out pairs, autoencoder pairs, stage-1 counterfactuals
    python bench/captioning_quality.py --n 2000 --cf 32    # more pairs, fewer counterfactual images per classifier
    python bench/captioning_quality.py --cf 0              # rendered and autoencoder pairs only

Conditions:
- `rendered`: fresh world pairs of a seed never used in training (15% no change, 55% attribute changes, 15% additions,
  15% removals, a third of the changed pairs jittered);
- `autoencoder`: the same pairs, both images reconstructed by the shipped autoencoder;
- `stage1:semantic` and `stage1:within_tol`: the valid latent counterfactuals (`CounterfactualExplainer`, default
  options) of the shipped classifiers on `--cf` test images each, labelled by their projection onto the world's cheap
  edits (`project_counterfactual`): `semantic` keeps the pairs whose projection is semantic (closer to the edit's
  render than to the source, within `rel_tol`, and the edit flips the rule's truth), `within_tol` every pair whose
  projection is closer and within tolerance (the label is a close fit, whether or not it flips the rule);
- `scene_search`: the valid counterfactuals of `SceneSearchExplainer` (a perfect generator: renders of scene edits)
  with their exact edits as labels.
Counterfactual conditions add "no change" controls (a jittered copy of a source image, about 15% of the pairs as in
`rendered`) so that "nothing changed" precision and recall are defined; `exact_changed` is the exactness on the
counterfactual pairs themselves. Targets: exact >= 0.9, "nothing changed" precision and recall >= 0.9. Exactness: the
caption names the same edit type, the object's attributes before and its attributes after (captions are parsed back;
`gift_nb.captioning.same_change`)."""
import argparse, json, os, time

def _round(d):
    if isinstance(d, dict): return {k: _round(v) for k, v in d.items()}
    if isinstance(d, list): return [_round(v) for v in d]
    if isinstance(d, float): return None if d != d else round(d, 4)   # NaN (e.g. no 'nothing changed' pair) -> null
    return d

def _with_controls(cap, before, after, refs, rng, share=0.15):
    "Caption counterfactual pairs plus jittered no-change controls of their sources; quality over both."
    import torch
    from gift_nb.captioning import jitter, caption_quality, same_change, NO_CHANGE
    n = len(refs)
    m = round(share / (1 - share) * n)
    pick = torch.from_numpy(rng.choice(n, m, replace=m > n)) if n and m else torch.zeros(0, dtype=torch.long)
    cb = torch.cat([before, before[pick]]); ca = torch.cat([after, jitter(before[pick], rng)])
    pred = cap(cb, ca)
    q = caption_quality(pred, list(refs) + [NO_CHANGE] * len(pick))
    q['n_controls'] = len(pick)
    misses = [dict(caption=p, label=r) for p, r in zip(pred[:n], refs) if not same_change(p, r)]
    return q, pred[:n], misses

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=1000, help='held-out rendered pairs')
    ap.add_argument('--seed', type=int, default=777, help='data seed of the held-out pairs (training used 0 and 10000)')
    ap.add_argument('--cf', type=int, default=64, help='test images per shipped classifier for the counterfactual conditions (0: skip)')
    ap.add_argument('--cf-seed', type=int, default=2024, help='data seed of the counterfactual test images (as bench/counterfactuals.py)')
    ap.add_argument('--rel-tol', type=float, default=0.8, help='projection tolerance (project_counterfactual)')
    ap.add_argument('--classifiers', nargs='*', default=['red_metal', 'cube_or_cyan', 'two_spheres', 'blue_biased'])
    ap.add_argument('--no-scene-search', action='store_true', help='skip the scene-search reference')
    ap.add_argument('--examples', type=int, default=8, help='misses quoted per counterfactual condition')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 2)')
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or 2)
    import numpy as np, torch
    torch.set_num_threads(a.threads)
    from gift_nb.captioning import ChangeCaptioner, world_pairs, caption_quality, same_change
    from gift_nb.counterfactuals import load_autoencoder, reconstruct
    cap, ae = ChangeCaptioner(device='cpu'), load_autoencoder()
    common = dict(bench='captioning_quality', model=cap.model_id, autoencoder=ae.card['sha256'][:12], threads=a.threads)
    conditions = {}
    def emit(row):
        print(json.dumps(row), flush=True)
        conditions[row['condition']] = {k: v for k, v in row.items() if k not in common and k not in ('condition', 'misses')}
    def summary():
        print(json.dumps(dict(**common, n=a.n, seed=a.seed, cf=a.cf, conditions=conditions)))
    t = time.perf_counter(); P = world_pairs(a.n, seed=a.seed); t_pairs = time.perf_counter() - t
    for name, (b, x) in (('rendered', (P['before'], P['after'])),
                         ('autoencoder', (reconstruct(ae, P['before']), reconstruct(ae, P['after'])))):
        t = time.perf_counter(); pred = cap(b, x); dt = time.perf_counter() - t
        q = caption_quality(pred, P['captions'])
        emit(_round(dict(condition=name, **common, **q, seconds=dt, pairs_per_s=len(pred) / dt, data_seconds=t_pairs)))
    if not a.cf: return summary()
    from gift_nb.classifier import load_classifier
    from gift_nb.world import make_dataset
    from gift_nb.counterfactuals import CounterfactualExplainer, SceneSearchExplainer, project_counterfactual
    conds = ['stage1:semantic', 'stage1:within_tol'] + ([] if a.no_scene_search else ['scene_search'])
    acc = {c: dict(before=[], after=[], refs=[], per={}) for c in conds}
    counts, t0 = {}, time.perf_counter()
    for cname in a.classifiers:
        clf = load_classifier(cname, device='cpu')
        x, _, scenes = make_dataset(clf.task, a.cf, seed=a.cf_seed, split='test')
        ex = CounterfactualExplainer(clf, ae, show_progress=False)
        recs = [r for r in ex(x) if r.valid]
        pr = [project_counterfactual(ex.images[r.image], x[r.source], scenes[r.source], clf.task.rule, a.rel_tol) for r in recs]
        sel = {'stage1:semantic': [p['semantic'] for p in pr], 'stage1:within_tol': [p['closer'] and p['within_tol'] for p in pr]}
        counts[cname] = dict(images=len(x), valid=len(recs), semantic=sum(sel['stage1:semantic']), within_tol=sum(sel['stage1:within_tol']))
        for c, keep in sel.items():
            ks = [(r, p) for r, p, k in zip(recs, pr, keep) if k]
            if not ks: continue
            acc[c]['before'].append(x[[r.source for r, _ in ks]]); acc[c]['after'].append(ex.images[[r.image for r, _ in ks]])
            acc[c]['refs'] += [p['edit'] for _, p in ks]; acc[c]['per'][cname] = len(ks)
        if 'scene_search' in acc:
            ss = SceneSearchExplainer(clf, show_progress=False)
            rs = [r for r in ss(x, scenes) if r.valid and r.meta.get('found')]
            counts[cname]['scene_search_valid'] = len(rs)
            if rs:
                acc['scene_search']['before'].append(x[[r.source for r in rs]]); acc['scene_search']['after'].append(ss.images[[r.image for r in rs]])
                acc['scene_search']['refs'] += [r.meta['edit'] for r in rs]; acc['scene_search']['per'][cname] = len(rs)
    t_cf = time.perf_counter() - t0
    for c in conds:
        A = acc[c]
        if not A['refs']:
            emit(dict(condition=c, **common, n=0, counts=counts)); continue
        b, x = torch.cat(A['before']), torch.cat(A['after'])
        q, pred, misses = _with_controls(cap, b, x, A['refs'], np.random.default_rng([a.cf_seed, 5]))
        per, s = {}, 0
        for cname, k in A['per'].items():
            per[cname] = dict(n=k, exact=sum(same_change(p, r) for p, r in zip(pred[s:s + k], A['refs'][s:s + k])) / k); s += k
        emit(_round(dict(condition=c, **common, cf_images_per_classifier=a.cf, rel_tol=a.rel_tol, **q,
                         per_classifier=per, counts=counts, counterfactual_seconds=t_cf, misses=misses[:a.examples])))
    summary()

if __name__ == '__main__':
    main()
