#!/usr/bin/env python
"""Speed of CRAFT's importance estimation on a shipped world classifier; prints one JSON object.

Fits `Craft` (10 concepts, 24-px crops) on class-1 test images of `--classifier`, then times
`estimate_importance` on `--n` images with N = `--nb-design` (N·(r+2) = 384 evaluations of the head per image
for r = 10, N = 32), with `--threads` torch threads (2 by default: the project's reference machine has two cores).
The figure is the median of `--runs` timed calls after one warm-up call; the NNLS codes are recomputed in each call
(they are part of the estimate). Timings on a shared machine are upper bounds.

    python bench/craft_speed.py [--threads 2] [--n 100] [--n-concepts 10] [--nb-design 32] [--runs 3]"""
import argparse, json, os, statistics, sys, time


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
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or 2)
    import torch
    torch.set_num_threads(a.threads)
    from gift_nb.classifier import load_classifier
    from gift_nb.baselines.craft import Craft
    from gift_nb.world import make_dataset
    clf = load_classifier(a.classifier, device='cpu')
    x = make_dataset(clf.task, 4 * a.n + 100, seed=0, split='test')[0]
    x = x[clf.predict(x) == 1][:2 * a.n]
    if len(x) < a.n: sys.exit(f"only {len(x)} class-1 images")
    craft = Craft.from_classifier(clf, k=1, n_concepts=a.n_concepts, patch_size=a.patch_size, batch_size=a.batch_size,
                                  show_progress=False)
    t = time.perf_counter(); craft.fit(x); fit_s = time.perf_counter() - t
    imgs = x[:a.n]
    craft.estimate_importance(imgs, nb_design=a.nb_design)  # warm-up
    times = []
    for _ in range(a.runs):
        t = time.perf_counter(); craft.estimate_importance(imgs, nb_design=a.nb_design); times.append(time.perf_counter() - t)
    t = time.perf_counter(); craft.transform(imgs); nnls_s = time.perf_counter() - t
    med = statistics.median(times)
    evals = a.n * a.nb_design * (a.n_concepts + 2)
    print(json.dumps({'classifier': a.classifier, 'threads': a.threads, 'n_images': a.n, 'n_concepts': a.n_concepts,
                      'nb_design': a.nb_design, 'sampler': 'halton', 'batch_size': a.batch_size, 'runs': a.runs,
                      'model_evaluations': evals, 'importance_s_median': round(med, 3),
                      'importance_s_runs': [round(v, 3) for v in times], 'evaluations_per_s': round(evals / med),
                      'images_per_s': round(a.n / med, 1), 'of_which_nnls_codes_s': round(nnls_s, 3),
                      'fit_s': round(fit_s, 2), 'fit_crops': len(craft.crops_u),
                      'cpu_count': os.cpu_count(), 'load_avg_1min': os.getloadavg()[0]}))

if __name__ == '__main__':
    main()
