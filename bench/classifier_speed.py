#!/usr/bin/env python
"""Throughput of the shipped world classifiers (64×64 images, CPU) and their load time; prints one JSON object.

Each figure is the median of `--runs` timed passes over `--n` rendered test images, after one warm-up pass, with
`--threads` torch threads (2 by default: the project's reference machine has two cores). Wall-clock throughput
(`images_per_s`) depends on what else the machine runs, so the process CPU time is reported too:
`images_per_cpu_s` is images per CPU-second summed over threads, barely affected by other processes; with
`--threads 1` it is a lower bound on what two idle cores reach with two threads.

    python bench/classifier_speed.py [--threads 2] [--n 2048] [--runs 5] [--batch-size 256]"""
import argparse, json, os, statistics, sys, time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 2)')
    ap.add_argument('--n', type=int, default=2048)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--batch-size', type=int, default=256)
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or 2)
    import torch
    torch.set_num_threads(a.threads)
    from gift_nb.classifier import list_classifiers, load_classifier
    from gift_nb.world import make_dataset
    out = {'threads': a.threads, 'n_images': a.n, 'runs': a.runs, 'batch_size': a.batch_size,
           'cpu_count': os.cpu_count(), 'load_avg_1min': os.getloadavg()[0], 'classifiers': {}}
    names = list_classifiers()
    if not names: sys.exit("no shipped classifiers: run `make weights` first")
    x = None
    for name in names:
        loads = []
        for _ in range(a.runs):
            t = time.perf_counter(); clf = load_classifier(name, device='cpu', batch_size=a.batch_size)
            loads.append(time.perf_counter() - t)
        if x is None: x = make_dataset(clf.task, a.n, seed=99, split='test')[0]
        clf(x[:a.batch_size])  # warm-up
        rates, cpu_rates = [], []
        for _ in range(a.runs):
            t, c = time.perf_counter(), time.process_time(); clf(x)
            rates.append(a.n / (time.perf_counter() - t)); cpu_rates.append(a.n / (time.process_time() - c))
        out['classifiers'][name] = {'images_per_s_median': round(statistics.median(rates)),
                                    'images_per_s_runs': [round(r) for r in rates],
                                    'images_per_cpu_s_median': round(statistics.median(cpu_rates)),
                                    'load_s_median': round(statistics.median(loads), 4),
                                    'n_params': clf.card.get('n_params')}
    out['images_per_s_median_min'] = min(v['images_per_s_median'] for v in out['classifiers'].values())
    out['images_per_cpu_s_median_min'] = min(v['images_per_cpu_s_median'] for v in out['classifiers'].values())
    out['load_avg_1min_after'] = os.getloadavg()[0]
    print(json.dumps(out))

if __name__ == '__main__':
    main()
