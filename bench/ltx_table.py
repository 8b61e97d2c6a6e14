#!/usr/bin/env python
"""LTX beside captum baselines on the red_metal classifier: every saliency metric and the time per image, as JSON.

    python bench/ltx_table.py            # 128 class-1 test images (IN_TEST=1: 8)
    python bench/ltx_table.py --n 200 --steps 20
    python bench/ltx_table.py --split val --seed 11 --n 40 --card /tmp/cand.ltx.json   # choose settings on validation images

Rows: LTX pretrained (K=0), LTX fine-tuned (K steps), Integrated Gradients, Occlusion, LayerGradCam. Columns: POS/NEG/INS/DEL
AUCs (percent) on the fine grid (0-10% of the pixels in 1% steps) and, suffixed _10, on LTX's 10% grid; pointing game and
mask IoU against the pixels of the red metal objects; seconds per image. `paired_vs_baselines`: fine-tuned LTX minus each
baseline on the same images, per metric, with a 95% bootstrap interval over images and a verdict (better / worse / tie). LTX's fine-tuned masks are *selected* by POS-AUC
(fine grid), so its POS-AUC is optimistic by construction; the other columns are not selected on."""
import argparse, json, os, platform, sys, time
if __package__: from ._ltx_options import add_ltx_options, ltx_overrides   # python -m bench.ltx_table (the suite)
else: from _ltx_options import add_ltx_options, ltx_overrides             # python bench/ltx_table.py
from gift_nb.baselines.saliency_metrics import REFERENCES

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=8 if os.environ.get('IN_TEST') else 128, help='class-1 test images')
    ap.add_argument('--steps', type=int, default=None, help='K fine-tuning steps (default: the shipped setting)')
    ap.add_argument('--card', default='red_metal', help='shipped explainer name or path to a .ltx.json card (e.g. a candidate)')
    add_ltx_options(ap)
    ap.add_argument('--seed', type=int, default=3, help='data seed')
    ap.add_argument('--split', default='test', choices=('test', 'val'), help="'val' to choose settings, 'test' to report them")
    ap.add_argument('--reference', default='background', choices=REFERENCES,
                    help="what removed pixels become: in the metrics, IG's and Occlusion's baselines and LTX's fine-tuning "
                         "(its pretrained weights keep the card's, 'background'); LTX's code uses black")
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 1)')
    ap.add_argument('--table', action='store_true', help='also print a text table to stderr')
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or 1)
    import torch
    torch.set_num_threads(a.threads)
    from gift_nb.baselines.ltx import class1_test_set, load_ltx
    from gift_nb.baselines.saliency_metrics import (CAPTUM_METHODS, FINE_FRACTIONS, CaptumSaliency, compare_methods, format_comparison,
                                          format_table, saliency_table)
    over = ltx_overrides(a)
    ltx = load_ltx(a.card, show_progress=False, reference=a.reference, **over)
    K = ltx.steps if a.steps is None else a.steps
    x, gt, _ = class1_test_set('red_metal', a.n, a.seed, a.split)
    methods = {'LTX pretrained (K=0)': lambda im, t: ltx.explain(im, t, steps=0),
               f'LTX fine-tuned (K={K})': lambda im, t: ltx.explain(im, t, steps=K),
               **{m: CaptumSaliency(ltx.clf, m, reference=a.reference) for m in CAPTUM_METHODS}}
    t0 = time.perf_counter()
    rows = saliency_table(methods, ltx.clf, x, gt_masks=gt, reference=a.reference, fractions=FINE_FRACTIONS, per_image=True)
    paired = compare_methods(rows, f'LTX fine-tuned (K={K})', CAPTUM_METHODS)
    out = dict(bench='ltx_table', classifier='red_metal', card=str(a.card), n_images=len(x), data=dict(split=a.split, seed=a.seed, classes=[1]),
               ltx={**ltx.settings(), 'steps': K},
               fine_fractions=list(FINE_FRACTIONS), reference=a.reference, ltx_pretrained_reference=ltx.card['reference'], torch_threads=torch.get_num_threads(),
               machine=dict(cpus=os.cpu_count(), load_avg_1min=os.getloadavg()[0], python=platform.python_version()),
               seconds=round(time.perf_counter() - t0, 1),
               rows=[{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items() if k != 'per_image'} for r in rows],
               paired_vs_baselines=[{**c, 'diff': round(c['diff'], 4), 'ci': [round(v, 4) for v in c['ci']]} for c in paired])
    print(json.dumps(out))
    if a.table: print(format_table(rows), format_comparison(paired), sep='\n\n', file=sys.stderr)

if __name__ == '__main__':
    main()
