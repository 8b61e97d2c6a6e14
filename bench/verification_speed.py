#!/usr/bin/env python
"""Stage-4 throughput on 2 CPU threads: intervened-and-classified images per second of `verify` with the embedded
`WorldIntervener` and the shipped `red_metal` classifier (median of several runs after one warm-up). Prints JSON.

Each base image gives two intervened images per hypothesis, do(c=1) and do(c=0); `images_per_s` counts those
(2 x base images x hypotheses) over the whole `verify` call: edits, rendering, classification, metrics. One of the two
is often the base image itself (the concept already was as asked); `verify` then reuses the base image's prediction,
so `classified_per_s` also reports the images that really went through the classifier. On a shared machine, the
CPU time of the process (all threads) is printed too: `images_per_cpu_s` does not drop when other jobs compete."""
import argparse, json, os, statistics, time

def main(n=1000, runs=5, task='red_metal', threads=2):
    import torch
    torch.set_num_threads(threads)
    from gift_nb.classifier import load_classifier
    from gift_nb.verification import target_hypotheses, verify
    from gift_nb.world import make_scenes
    clf = load_classifier(task, device='cpu')
    base = make_scenes(task, n, 3, 'val')[0]
    hyps = target_hypotheses(task)
    verify(hyps[:2], clf, base=base, n=min(100, n), show_progress=False)   # warm-up: sprite caches, torch kernels
    times, cpus, classified = [], [], 0
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        res = verify(hyps, clf, base=base, seed=0, show_progress=False)
        times.append(time.perf_counter() - t); cpus.append(time.process_time() - c)
        classified = n + sum(v.meta['n_classified'] for v in res)
    intervened = 2 * n * len(hyps)
    ips = [intervened / t for t in times]
    print(json.dumps({'bench': 'verification_speed', 'task': task, 'intervener': 'world', 'threads': torch.get_num_threads(),
                      'base_images': n, 'hypotheses': len(hyps), 'intervened_images': intervened,
                      'classified_images': classified, 'seconds_median': round(statistics.median(times), 2),
                      'images_per_s_median': round(statistics.median(ips)), 'images_per_s_runs': [round(v) for v in ips],
                      'classified_per_s_median': round(classified / statistics.median(times)),
                      'cpu_seconds_median': round(statistics.median(cpus), 2),   # CPU time of all threads (contention-free)
                      'images_per_cpu_s_median': round(intervened / statistics.median(cpus)),
                      'target_images_per_s': 200}))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--n', type=int, default=1000, help='base images')
    ap.add_argument('--runs', type=int, default=5, help='timed runs (the median is reported)')
    ap.add_argument('--task', default='red_metal', help='shipped classifier / task')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 2)')
    a = ap.parse_args()
    main(a.n, a.runs, a.task, a.threads or int(os.environ.get('OMP_NUM_THREADS') or 2))
