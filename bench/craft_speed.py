#!/usr/bin/env python
"""Speed of CRAFT's importance estimation on a shipped world classifier, against xplique's CraftTorch; prints one JSON object.

Fits `Craft` (10 concepts, 24-px crops) on class-1 test images of `--classifier`, then times
`estimate_importance` on `--n` images with N = `--nb-design` (N·(r+2) = 384 evaluations of the head per image
for r = 10, N = 32), with `--threads` torch threads (2 by default: the project's reference machine has two cores).
The figure is the median of `--runs` timed calls after one warm-up call; the NNLS codes are recomputed in each call
(they are part of the estimate). Timings on a shared machine are upper bounds.

When `xplique` is importable (an optional, bench-only extra that pulls TensorFlow: `make craft-ref` builds a separate
environment with it), its `CraftTorch` is timed on the same features, head and concept bank (our NMF is given to
it), alternating with ours call by call; the figures are the ratio of each pair (xplique / ours, CPU time and wall
time; both survive a busy machine better than either time alone), their median, whether the two agree on the top
concept, and the Spearman correlation of the importances. Without xplique the comparison is skipped, with a message.

`--maps-n M` also measures `concept_maps` on M images upsampled to `--maps-size` pixels, in a child process: its
seconds and its peak resident memory (the images and the maps themselves, 4 bytes per pixel and concept, included).

    python bench/craft_speed.py [--threads 2] [--n 100] [--n-concepts 10] [--nb-design 32] [--runs 3] [--maps-n 1000]"""
import argparse, json, os, statistics, subprocess, sys, time


def _maps_child(a):
    "Run in a child process: peak RSS of concept_maps on `a.maps_n` images of `a.maps_size` pixels."
    import resource
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(a.threads)
    from gift_nb.classifier import load_classifier
    from gift_nb.baselines.craft import Craft
    from gift_nb.world import make_dataset
    clf = load_classifier(a.classifier, device='cpu')
    x = make_dataset(clf.task, 300, seed=0, split='test')[0]
    x = x[clf.predict(x) == 1][:100]
    s = a.maps_size
    g = lambda im: clf.features(F.interpolate(im, size=x.shape[-2:], mode='bilinear', align_corners=False))
    patch = round(a.patch_size * s / x.shape[-1])
    craft = Craft(g, clf.head, k=1, n_concepts=a.n_concepts, patch_size=patch, input_size=x.shape[-1], show_progress=False)
    big = lambda im: F.interpolate(im, size=(s, s), mode='bilinear', align_corners=False)
    craft.fit(big(x))
    imgs = big(x[torch.arange(a.maps_n) % len(x)])
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter(); m = craft.concept_maps(imgs, percentile=90); sec = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kept = sum(int(torch.count_nonzero(mi)) for mi in m) / m.numel()      # image by image: no map-sized temporary
    print(json.dumps({'maps_n_images': a.maps_n, 'maps_size': s, 'maps_shape': list(m.shape),
                      'maps_values': m.numel(), 'maps_gb': round(m.numel() * 4 / 2**30, 2), 'images_gb': round(imgs.numel() * 4 / 2**30, 2),
                      'maps_s': round(sec, 1), 'maps_kept_fraction': round(kept, 4),
                      'peak_rss_mb_before_maps': round(rss0), 'peak_rss_mb': round(rss)}))


def _xplique(craft, images, runs, ours):
    "Time xplique's CraftTorch against `ours` on the same g, h and W, alternated; None (with a message) without xplique."
    try:
        from xplique.concepts import CraftTorch
        from xplique.concepts.craft import Factorization
    except ImportError as e:
        print(f"craft_speed: xplique is not importable ({e}); skipping the comparison with xplique's CraftTorch "
              "(make craft-ref builds an environment that has it)", file=sys.stderr)
        return {'skipped': f'xplique not importable: {e}'}
    import numpy as np
    import torch
    from torch import nn
    from scipy.stats import spearmanr
    class Fn(nn.Module):   # CraftTorch wants modules
        def __init__(self, f): super().__init__(); self.f = f
        def forward(self, x): return self.f(x)
    k = craft.k
    ref = CraftTorch(Fn(craft.input_to_latent), Fn(craft.latent_to_logit), number_of_concepts=craft.n_concepts,
                     batch_size=craft.batch_size, patch_size=craft.patch_size, device='cpu')
    ref.factorization = Factorization(None, k, None, craft.nmf, craft.crops_u.numpy(), craft.W.numpy())   # our NMF
    theirs = lambda: ref.estimate_importance(images, nb_design=ours.nb_design)
    io, ir = ours(), theirs()                                    # warm-up, and the importances compared
    cpu, wall = {'ours': [], 'xplique': []}, {'ours': [], 'xplique': []}
    for i in range(runs):
        for name in (('ours', 'xplique') if i % 2 == 0 else ('xplique', 'ours')):
            f = ours if name == 'ours' else theirs
            t, c = time.perf_counter(), time.process_time(); f()
            wall[name].append(time.perf_counter() - t); cpu[name].append(time.process_time() - c)
    r_cpu = [b / a for a, b in zip(cpu['ours'], cpu['xplique'])]
    r_wall = [b / a for a, b in zip(wall['ours'], wall['xplique'])]
    import xplique
    return {'version': getattr(xplique, '__version__', None), 'xplique_s_cpu': [round(v, 3) for v in cpu['xplique']],
            'ours_s_cpu': [round(v, 3) for v in cpu['ours']], 'ratio_cpu': [round(v, 2) for v in r_cpu],
            'ratio_cpu_median': round(statistics.median(r_cpu), 2), 'ratio_wall': [round(v, 2) for v in r_wall],
            'ratio_wall_median': round(statistics.median(r_wall), 2), 'same_top_concept': bool(np.argmax(io) == np.argmax(ir)),
            'spearman': round(float(spearmanr(io, ir)[0]), 4), 'max_abs_diff': float(np.abs(np.asarray(io) - np.asarray(ir)).max())}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--classifier', default='red_metal')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 2)')
    ap.add_argument('--n', type=int, default=100)
    ap.add_argument('--n-concepts', type=int, default=10)
    ap.add_argument('--nb-design', type=int, default=32)
    ap.add_argument('--patch-size', type=int, default=24)
    ap.add_argument('--batch-size', type=int, default=256)
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--no-xplique', action='store_true', help="don't compare with xplique even if it is importable")
    ap.add_argument('--maps-n', type=int, default=0, help='also measure concept_maps on this many images (0: no)')
    ap.add_argument('--maps-size', type=int, default=224, help='side of the images given to concept_maps')
    ap.add_argument('--maps-child', action='store_true', help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or 2)
    if a.maps_child: return _maps_child(a)
    import torch
    torch.set_num_threads(a.threads)
    from gift_nb.classifier import load_classifier
    from gift_nb.baselines.craft import Craft
    from gift_nb.world import make_dataset
    load0 = os.getloadavg()[0]
    clf = load_classifier(a.classifier, device='cpu')
    x = make_dataset(clf.task, 4 * a.n + 100, seed=0, split='test')[0]
    x = x[clf.predict(x) == 1][:2 * a.n]
    if len(x) < a.n: sys.exit(f"only {len(x)} class-1 images")
    craft = Craft.from_classifier(clf, k=1, n_concepts=a.n_concepts, patch_size=a.patch_size, batch_size=a.batch_size,
                                  show_progress=False)
    t = time.perf_counter(); craft.fit(x); fit_s = time.perf_counter() - t
    imgs = x[:a.n]
    ours = lambda: craft.estimate_importance(imgs, nb_design=a.nb_design)
    ours.nb_design = a.nb_design
    ours()  # warm-up
    times = []
    for _ in range(a.runs):
        t = time.perf_counter(); ours(); times.append(time.perf_counter() - t)
    t = time.perf_counter(); craft.transform(imgs); nnls_s = time.perf_counter() - t
    med = statistics.median(times)
    evals = a.n * a.nb_design * (a.n_concepts + 2)
    out = {'classifier': a.classifier, 'threads': a.threads, 'n_images': a.n, 'n_concepts': a.n_concepts,
           'nb_design': a.nb_design, 'sampler': 'halton', 'batch_size': a.batch_size, 'runs': a.runs,
           'model_evaluations': evals, 'importance_s_median': round(med, 3),
           'importance_s_runs': [round(v, 3) for v in times], 'evaluations_per_s': round(evals / med),
           'images_per_s': round(a.n / med, 1), 'of_which_nnls_codes_s': round(nnls_s, 3),
           'fit_s': round(fit_s, 2), 'fit_crops': len(craft.crops_u)}
    if not a.no_xplique: out['xplique'] = _xplique(craft, imgs, max(a.runs, 5), ours)
    if a.maps_n:
        cmd = [sys.executable, '-m', 'bench.craft_speed', '--maps-child', '--maps-n', str(a.maps_n), '--maps-size', str(a.maps_size),
               '--threads', str(a.threads), '--classifier', a.classifier, '--n-concepts', str(a.n_concepts), '--patch-size', str(a.patch_size)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        out['concept_maps'] = json.loads(lines[-1]) if r.returncode == 0 and lines else {'error': r.stderr.strip()[-500:]}
    out.update(cpu_count=os.cpu_count(), load_avg_1min_before=load0, load_avg_1min=os.getloadavg()[0])
    print(json.dumps(out))

if __name__ == '__main__':
    main()
