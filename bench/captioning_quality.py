#!/usr/bin/env python
"""Stage-2 benchmark: quality of the shipped change captioner (issue 7 targets). Prints one JSON line per condition.

    python bench/captioning_quality.py                     # 1,000 held-out pairs, autoencoder pairs, stage-1 counterfactuals
    python bench/captioning_quality.py --n 2000 --cf 32    # more pairs, fewer counterfactual images per classifier

Conditions: `rendered` (fresh world pairs, a seed never used in training: 15% no change, 55% attribute changes,
15% additions, 15% removals, a third of changed pairs jittered), `autoencoder` (the same pairs, both images reconstructed
by the shipped autoencoder), `stage1` (valid latent counterfactuals of the shipped classifiers whose projection onto
the world's cheap edits counts as semantic; label = the projected edit). Targets: exact >= 0.9, "nothing changed"
precision and recall >= 0.9. Exactness: the caption names the same edit type, the object's attributes before and
its attributes after (captions are parsed back; `gift_nb.captioning.same_change`)."""
import argparse, json, os, sys, time
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

def _round(d):
    if isinstance(d, dict): return {k: _round(v) for k, v in d.items()}
    if isinstance(d, float): return None if d != d else round(d, 4)   # NaN (e.g. no 'nothing changed' pair) -> null
    return d

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=1000, help='held-out rendered pairs')
    ap.add_argument('--seed', type=int, default=777, help='data seed of the held-out pairs (training used 0 and 10000)')
    ap.add_argument('--cf', type=int, default=64, help='test images per shipped classifier for the stage-1 condition (0: skip)')
    ap.add_argument('--classifiers', nargs='*', default=['red_metal', 'cube_or_cyan', 'two_spheres', 'blue_biased'])
    ap.add_argument('--threads', type=int, default=2, help='torch threads')
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(a.threads)
    from gift_nb.captioning import ChangeCaptioner, world_pairs, caption_quality
    from gift_nb.counterfactuals import load_autoencoder, reconstruct
    cap, ae = ChangeCaptioner(device='cpu'), load_autoencoder()
    t = time.perf_counter(); P = world_pairs(a.n, seed=a.seed); t_pairs = time.perf_counter() - t
    for name, (b, x) in (('rendered', (P['before'], P['after'])),
                         ('autoencoder', (reconstruct(ae, P['before']), reconstruct(ae, P['after'])))):
        t = time.perf_counter(); pred = cap(b, x); dt = time.perf_counter() - t
        q = caption_quality(pred, P['captions'])
        print(json.dumps(_round(dict(bench='captioning_quality', condition=name, model=cap.model_id, **q, seconds=dt,
                                     pairs_per_s=len(pred) / dt, data_seconds=t_pairs, threads=a.threads))), flush=True)
    if a.cf:
        from gift_nb.classifier import load_classifier
        from gift_nb.world import make_dataset
        from gift_nb.counterfactuals import CounterfactualExplainer, project_counterfactual
        from gift_nb.captioning import same_change
        preds, refs, n_valid, n_all, per, t0 = [], [], 0, 0, {}, time.perf_counter()
        for cname in a.classifiers:
            clf = load_classifier(cname, device='cpu')
            x, _, scenes = make_dataset(clf.task, a.cf, seed=2024, split='test')
            ex = CounterfactualExplainer(clf, ae, show_progress=False)
            recs = ex(x)
            keep = [r for r in recs if r.valid]
            n_all += len(recs); n_valid += len(keep)
            pr = [project_counterfactual(ex.images[r.image], x[r.source], scenes[r.source], clf.task.rule) for r in keep]
            sem = [(r, p) for r, p in zip(keep, pr) if p['semantic']]
            if not sem: continue
            out = cap(x[[r.source for r, _ in sem]], ex.images[[r.image for r, _ in sem]])
            preds += out; refs += [p['edit'] for _, p in sem]
            per[cname] = dict(images=len(recs), valid=len(keep), semantic=len(sem),
                              exact=sum(same_change(o, p['edit']) for o, (_, p) in zip(out, sem)) / len(sem))
        q = caption_quality(preds, refs) if preds else {}
        print(json.dumps(_round(dict(bench='captioning_quality', condition='stage1', model=cap.model_id, images=n_all,
                                     valid=n_valid, semantic=len(preds), **q, per_classifier=per,
                                     seconds=time.perf_counter() - t0,
                                     examples=[dict(caption=p, projected=r) for p, r in list(zip(preds, refs))[:12]]))), flush=True)

if __name__ == '__main__':
    main()
