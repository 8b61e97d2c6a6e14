#!/usr/bin/env python
"""Why fine-tuned LTX loses deletion to Integrated Gradients on red_metal: a diagnosis, as JSON.

On class-1 images of `red_metal` (default: 40 `val` images, seed 11; `--split test --seed 3 --n 100` for the reported
test images), with the shipped LTX fine-tuned at its default K (or with the fine-tuning overrides of `_ltx_options.py`) and captum's Integrated Gradients:

- `evidence_objects`: how many images hold 1, 2, 3, ... red metal objects, and on the images with >= 2 how many have
  their top 1% / 2% pixels touching only one of them (a sufficiency mask might keep one object and leave another);
- `top_on_object`: the share of each method's top-k pixels that lie on the red metal objects;
- `deletion`: DEL-AUC, INS-AUC and the target's probability after removing the top 1% / 2% for LTX, IG, IG blurred, and
  *oracle* rankings of the ground-truth object's own pixels (centre first, checkerboard first, random order, darkest
  first, brightest first: metal's shaded side is darker than rubber's ever is);
- `top20_pixels`: luminance and redness (R minus the mean of G and B) of each method's 20 top pixels, beside the objects'
  mean, and the share of the top 1% on the objects' one-pixel border;
- `deletion` also holds two *probes of the metric*, not explainers: maps optimised on deletion itself
  (`deletion_optimised`: the target's log-probability after a soft removal of the top k pixels, summed over every k of
  the fine grid, Adam on the map) started from IG's map and from a flat one. They show how low deletion can go on these
  images, and that the pixels which reach it are found near IG's ranking. They take most of the time (about 3.5 min
  on the 40 `val` images with one thread, 9 min on the 100 test images; `--probe-steps 0` leaves them out).

    python bench/ltx_deletion_diagnosis.py
    python bench/ltx_deletion_diagnosis.py --split test --seed 3 --n 100"""
import argparse, json, os, time
if __package__: from ._ltx_options import add_ltx_options, ltx_overrides   # python -m bench.ltx_deletion_diagnosis (the suite)
else: from _ltx_options import add_ltx_options, ltx_overrides             # python bench/ltx_deletion_diagnosis.py

def deletion_optimised(clf, x, t, ref, init, fractions, steps:int=300, lr:float=0.05, temperature:float=0.05, seed:int=0):
    """A saliency map `[N,H,W]` optimised on deletion: for every k of `fractions` (as pixel counts) the top k pixels of
    the map are removed softly (sigmoid((map - the k-th value) / temperature), the map standardised per image) and the
    log-probability of target `t` on the result is minimised, with Adam from `init` (plus a seeded 1e-3 jitter)."""
    import torch, torch.nn.functional as F
    from gift_nb.baselines.ltx import _frozen
    from gift_nb.baselines.saliency_metrics import composite
    hw = x.shape[-1] * x.shape[-2]
    ks = sorted({min(hw - 1, round(f * hw)) for f in fractions if f > 0})
    o = init.float().clone()
    o = o / o.flatten(1).std(1).clamp_min(1e-8)[:, None, None]
    o = (o + 1e-3 * torch.randn(o.shape, generator=torch.Generator().manual_seed(seed))).requires_grad_(True)
    opt = torch.optim.Adam([o], lr=lr)
    with _frozen(clf.model):  # gradients into the map only
        for _ in range(steps):
            v = o.detach().flatten(1).sort(1, descending=True).values
            loss = 0
            for k in ks:  # the threshold sits between the k-th and the (k+1)-th value: the soft mask holds about k pixels
                m = torch.sigmoid((o - ((v[:, k - 1] + v[:, k]) / 2)[:, None, None]) / temperature)[:, None]
                loss = loss + F.log_softmax(clf.forward(composite(x, 1 - m, ref)), 1).gather(1, t[:, None])[:, 0].sum()
            opt.zero_grad(); loss.backward(); opt.step()
    return o.detach()

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=8 if os.environ.get('IN_TEST') else 40, help='class-1 images')
    ap.add_argument('--split', default='val', choices=('val', 'test'))
    ap.add_argument('--seed', type=int, default=11, help='data seed')
    ap.add_argument('--card', default='red_metal', help='shipped explainer name or path to a .ltx.json card')
    ap.add_argument('--probe-steps', type=int, default=20 if os.environ.get('IN_TEST') else 300,
                    help="Adam steps of the deletion-optimised probes (0: leave them out)")
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 1)')
    add_ltx_options(ap)
    a = ap.parse_args(argv)
    import numpy as np, torch, torch.nn.functional as F
    torch.set_num_threads(a.threads or int(os.environ.get('OMP_NUM_THREADS') or 1))
    from gift_nb.baselines.ltx import class1_test_set, load_ltx
    from gift_nb.baselines.saliency_metrics import (FINE_FRACTIONS, CaptumSaliency, blur, curve_aucs, evidence_objects,
                                          perturbation_curves, reference_images, saliency_order)
    from gift_nb.world import get_task, render
    t0 = time.perf_counter()
    ltx = load_ltx(a.card, show_progress=False, **ltx_overrides(a)); clf = ltx.clf; rule = get_task('red_metal').rule
    x, gt, scenes = class1_test_set('red_metal', a.n, a.seed, a.split)
    hw = x.shape[-1] * x.shape[-2]
    _, objm = render(scenes, x.shape[-1], return_masks=True)
    ev = [evidence_objects(rule, s) for s in scenes]
    multi = [i for i, e in enumerate(ev) if len(e) >= 2]
    ltx_m, ig = ltx.explain(x), CaptumSaliency(clf, 'integrated_gradients')(x)
    g, lum_img = gt.float(), x.mean(1)
    def erode(m): return -F.max_pool2d(-m[:, None], 3, 1, 1)[:, 0]  # one pixel off every edge of the masks [N,H,W]
    depth, cur = torch.zeros_like(g), g.clone()  # pixels' depth inside the object: centre first
    for _ in range(x.shape[-1] // 2): depth += cur; cur = erode(cur)
    cb = ((torch.arange(x.shape[-2])[:, None] + torch.arange(x.shape[-1])[None]) % 2 == 0).float()
    def smooth(s, sigma): return blur(s[:, None].expand(-1, 3, -1, -1), sigma)[:, 0]
    maps = {'LTX fine-tuned': ltx_m, 'Integrated Gradients': ig, 'IG blurred sigma=1': smooth(ig, 1.0),
            'IG blurred sigma=2': smooth(ig, 2.0), 'object pixels, centre first': depth,
            'object pixels, checkerboard first': g * (1 + cb), 'object pixels, random order': g,
            'object pixels, darkest first': g * (2 - lum_img), 'object pixels, brightest first': g * (1 + lum_img)}
    if a.probe_steps:  # probes of the metric (the metrics' own fill, 'background'), not explainers
        t_pred, ref = clf.predict(x), reference_images(x, 'background')
        for name, init in (('from IG', ig), ('from a flat map', torch.zeros(gt.shape))):
            maps[f'deletion-optimised, {name}'] = deletion_optimised(clf, x, t_pred, ref, init, FINE_FRACTIONS, a.probe_steps)
    k1, k2 = round(0.01 * hw), round(0.02 * hw)
    def touched(order, i, k):
        top = torch.zeros(hw, dtype=torch.bool); top[order[i, :k]] = True
        return sum(bool((objm[i][j].flatten() & top).any()) for j in ev[i])
    out = dict(bench='ltx_deletion_diagnosis', classifier='red_metal', card=str(a.card), overrides=ltx_overrides(a), split=a.split, seed=a.seed,
               n_images=len(x), steps=ltx.steps, probe_steps=a.probe_steps, torch_threads=torch.get_num_threads(), object_pixels_median=float(gt.flatten(1).sum(1).float().median()),
               evidence_objects={str(k): int(v) for k, v in enumerate(np.bincount([len(e) for e in ev])) if v},
               multi_object_images=len(multi), top_on_object={}, deletion={}, top20_pixels={}, multi_object_hits={})
    lum, red = lum_img.flatten(1), (x[:, 0] - x[:, 1:].mean(1)).flatten(1)
    border = (g - erode(g)).flatten(1)
    for name in ('LTX fine-tuned', 'Integrated Gradients'):
        o = saliency_order(maps[name], 0)
        out['top_on_object'][name] = {f'top{k}': round(float(g.flatten(1).gather(1, o[:, :k]).mean()), 3) for k in (20, k1, k2)}
        out['top20_pixels'][name] = dict(luminance=round(float(lum.gather(1, o[:, :20]).mean()), 3),
                                         redness=round(float(red.gather(1, o[:, :20]).mean()), 3),
                                         top1pct_on_border=round(float(border.gather(1, o[:, :k1]).mean()), 3))
        out['multi_object_hits'][name] = {f'top{k}': dict(only_one=sum(touched(o, i, k) == 1 for i in multi),
                                                          all=sum(touched(o, i, k) == len(ev[i]) for i in multi)) for k in (k1, k2)}
    out['top20_pixels']['objects (mean)'] = dict(luminance=round(float((lum * g.flatten(1)).sum() / g.sum()), 3),
                                                 redness=round(float((red * g.flatten(1)).sum() / g.sum()), 3),
                                                 border_share=round(float(border.sum() / g.sum()), 3))
    for name, s in maps.items():
        c = perturbation_curves(clf, x, s, fractions=FINE_FRACTIONS, show_progress=False)
        d = curve_aucs(c)
        out['deletion'][name] = dict(del_auc=round(float(d['deletion'].mean()), 2), pos_auc=round(float(d['pos'].mean()), 2),
                                     ins_auc=round(float(d['insertion'].mean()), 2),
                                     prob_after_1pct=round(float(c['remove_prob'][:, 1].mean()), 3),
                                     prob_after_2pct=round(float(c['remove_prob'][:, 2].mean()), 3))
    out['seconds'] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))

if __name__ == '__main__':
    main()
