#!/usr/bin/env python
"""Renderer throughput on one core: images per second at 64x64 for scenes of 1-6 objects (median of 5 runs).
Scenes are sampled beforehand; sprites are warmed up once (they are cached per geometry). Prints JSON.

    python bench/render_speed.py [--n 2000] [--runs 5] [--size 64] [--threads 1]"""
import argparse, json, os, statistics, time

def main(n=2000, runs=5, size=64, threads=1):
    import numpy as np, torch
    torch.set_num_threads(threads)
    from gift_nb.world import sample_scene, render
    rng = np.random.default_rng(0)
    scenes = [sample_scene(rng) for _ in range(n)]
    render(scenes, size)  # warm the sprite cache
    times = []
    for _ in range(runs):
        t = time.perf_counter(); render(scenes, size); times.append(time.perf_counter() - t)
    ips = [n / t for t in times]
    t = time.perf_counter(); [sample_scene(rng) for _ in range(500)]; sample_rate = 500 / (time.perf_counter() - t)
    print(json.dumps({'bench': 'render_speed', 'size': size, 'images': n, 'runs': runs, 'threads': torch.get_num_threads(),
                      'images_per_s_median': round(statistics.median(ips)), 'images_per_s_runs': [round(v) for v in ips],
                      'scenes_sampled_per_s': round(sample_rate), 'target_images_per_s': 2000}))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=2000, help='scenes rendered per run')
    ap.add_argument('--runs', type=int, default=5, help='timed runs (the median is reported)')
    ap.add_argument('--size', type=int, default=64, help='image side in pixels')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 1)')
    a = ap.parse_args()
    main(a.n, a.runs, a.size, a.threads or int(os.environ.get('OMP_NUM_THREADS') or 1))
