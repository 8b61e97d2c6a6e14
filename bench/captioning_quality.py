#!/usr/bin/env python
"""Stage-2 benchmark: quality of the shipped change captioner, against its targets. Prints one JSON line per condition and,
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
- `suite`: the counterfactuals of the benchmark's tasks (`gift_nb.benchmark.SUITE`, every class explained): for
  `--suite-scenes` test scenes of each task, the world's minimal intervention that flips the class's rule, rendered,
  labelled by its exact edit. OR, count and absence rules often need several objects changed at once: exactness is
  reported on single-object and multi-object pairs apart, for the captioner and for the single-change captioner
  (`ChangeCaptioner(grouper=False)`); `suite:autoencoder` is the same with both images reconstructed by the autoencoder.
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

def suite_pairs(n_scenes, seed):
    "The world's minimal interventions flipping each benchmark task's class rules on its test scenes: pairs with exact labels."
    import numpy as np
    from gift_nb.benchmark import SUITE
    from gift_nb.world import TASKS, make_scenes, intervene, render
    from gift_nb.captioning import caption_of_edit
    from gift_nb.core import quantize
    sb, sa, refs, n_obj, tasks = [], [], [], [], []
    for name in SUITE:
        t = TASKS[name]
        scenes, _ = make_scenes(t, n_scenes, seed, 'test')
        for k in (range(t.n_classes) if t.more else [1]):
            rule = t.rule_of(k)
            for i, s in enumerate(scenes):
                try: new, e = intervene(s, rule, not bool(rule(s)), np.random.default_rng([seed, i, k]), return_edit=True)
                except ValueError: continue   # a rule that no edit of this scene can flip within the world's limits
                if not e.ops: continue
                sb.append(s); sa.append(new); refs.append(caption_of_edit(s, e)); tasks.append(f"{name}:{k}")
                n_obj.append(len({op[1] for op in e.ops if op[0] != 'add'}) + sum(op[0] == 'add' for op in e.ops))
    return quantize(render(sb)), quantize(render(sa)), refs, n_obj, tasks

def _suite(a, cap, single, ae, common, emit):
    "The suite condition: exactness on single- and multi-object counterfactual pairs of the benchmark's tasks."
    import numpy as np
    from gift_nb.captioning import same_change
    from gift_nb.autoencoder import reconstruct
    t = time.perf_counter(); xb, xa, refs, n_obj, tasks = suite_pairs(a.suite_scenes, a.suite_seed); t_data = time.perf_counter() - t
    multi = np.array(n_obj) > 1
    for name, (b, x) in (('suite', (xb, xa)), ('suite:autoencoder', (reconstruct(ae, xb), reconstruct(ae, xa)))):
        t = time.perf_counter(); pred = cap(b, x); dt = time.perf_counter() - t
        ok = np.array([same_change(p, r) for p, r in zip(pred, refs)])
        ok1 = np.array([same_change(p, r) for p, r in zip(single(b, x), refs)])
        per = {}
        for tk in dict.fromkeys(tasks):
            m = np.array([x == tk for x in tasks])
            per[tk] = dict(n_single=int((m & ~multi).sum()), n_multi=int((m & multi).sum()),
                           exact_multi=float(ok[m & multi].mean()) if (m & multi).any() else None)
        by_n = {int(k): dict(n=int((np.array(n_obj) == k).sum()), exact=float(ok[np.array(n_obj) == k].mean())) for k in sorted(set(n_obj))}
        misses = [dict(caption=p, label=r) for p, r, o, m in zip(pred, refs, ok, multi) if not o and m][:a.examples]
        emit(_round(dict(condition=name, **common, scenes_per_task=a.suite_scenes, suite_seed=a.suite_seed, n=len(refs),
                         n_single=int((~multi).sum()), n_multi=int(multi.sum()),
                         exact_single=float(ok[~multi].mean()), exact_multi=float(ok[multi].mean()),
                         single_change=dict(exact_single=float(ok1[~multi].mean()), exact_multi=float(ok1[multi].mean())),
                         by_objects=by_n, per_task=per, seconds=dt, data_seconds=t_data, misses=misses)))

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=1000, help='held-out rendered pairs')
    ap.add_argument('--seed', type=int, default=777, help='data seed of the held-out pairs (training used 0 and 10000)')
    ap.add_argument('--cf', type=int, default=64, help='test images per shipped classifier for the counterfactual conditions (0: skip)')
    ap.add_argument('--cf-seed', type=int, default=2024, help='data seed of the counterfactual test images (as bench/counterfactuals.py)')
    ap.add_argument('--rel-tol', type=float, default=0.8, help='projection tolerance (project_counterfactual)')
    ap.add_argument('--classifiers', nargs='*', default=['red_metal', 'cube_or_cyan', 'two_spheres', 'blue_biased'])
    ap.add_argument('--no-scene-search', action='store_true', help='skip the scene-search reference')
    ap.add_argument('--suite-scenes', type=int, default=160, help='test scenes per benchmark task for the suite condition (0: skip)')
    ap.add_argument('--suite-seed', type=int, default=31337, help='data seed of the suite condition')
    ap.add_argument('--examples', type=int, default=8, help='misses quoted per counterfactual condition')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 2)')
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or 2)
    import numpy as np, torch
    torch.set_num_threads(a.threads)
    from gift_nb.captioning import ChangeCaptioner, world_pairs, caption_quality, same_change
    from gift_nb.autoencoder import load_autoencoder, reconstruct
    cap, ae = ChangeCaptioner(device='cpu'), load_autoencoder()
    common = dict(bench='captioning_quality', model=cap.model_id, autoencoder=ae.card['sha256'][:12], threads=a.threads)
    conditions = {}
    def emit(row):
        print(json.dumps(row), flush=True)
        conditions[row['condition']] = {k: v for k, v in row.items() if k not in common and k not in ('condition', 'misses')}
    def summary():
        print(json.dumps(dict(**common, n=a.n, seed=a.seed, cf=a.cf, conditions=conditions)))
    t = time.perf_counter(); P = world_pairs(a.n, seed=a.seed); t_pairs = time.perf_counter() - t
    single = ChangeCaptioner(device='cpu', grouper=False)
    for name, (b, x) in (('rendered', (P['before'], P['after'])),
                         ('autoencoder', (reconstruct(ae, P['before']), reconstruct(ae, P['after'])))):
        t = time.perf_counter(); pred = cap(b, x); dt = time.perf_counter() - t
        q = caption_quality(pred, P['captions'])
        q1 = caption_quality(single(b, x), P['captions'])
        emit(_round(dict(condition=name, **common, **q, single_change=dict(exact=q1['exact'], exact_changed=q1['exact_changed']),
                         seconds=dt, pairs_per_s=len(pred) / dt, data_seconds=t_pairs)))
    if a.suite_scenes: _suite(a, cap, single, ae, common, emit)
    if not a.cf: return summary()
    from gift_nb.classifier import load_classifier
    from gift_nb.world import make_dataset
    from gift_nb.counterfactuals import CounterfactualExplainer
    from gift_nb.cf_quality import SceneSearchExplainer, project_counterfactual
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
        q1, _, _ = _with_controls(single, b, x, A['refs'], np.random.default_rng([a.cf_seed, 5]))
        q['single_change'] = dict(exact=q1['exact'], exact_changed=q1['exact_changed'])
        per, s = {}, 0
        for cname, k in A['per'].items():
            per[cname] = dict(n=k, exact=sum(same_change(p, r) for p, r in zip(pred[s:s + k], A['refs'][s:s + k])) / k); s += k
        emit(_round(dict(condition=c, **common, cf_images_per_classifier=a.cf, rel_tol=a.rel_tol, **q,
                         per_classifier=per, counts=counts, counterfactual_seconds=t_cf, misses=misses[:a.examples])))
    summary()

if __name__ == '__main__':
    main()
