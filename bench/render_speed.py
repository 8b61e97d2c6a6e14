#!/usr/bin/env python
"""Renderer throughput on one core: images per second at 64x64 for scenes of 1-6 objects (median of 5 runs).
Scenes are sampled beforehand; sprites are warmed up once (they are cached per geometry). Prints JSON."""
import os
os.environ.setdefault('OMP_NUM_THREADS', '1')
import json, statistics, time
import numpy as np, torch
torch.set_num_threads(1)
from gift_nb.world import sample_scene, render

def main(n=2000, runs=5, size=64):
    rng = np.random.default_rng(0)
    scenes = [sample_scene(rng) for _ in range(n)]
    render(scenes, size)  # warm the sprite cache
    times = []
    for _ in range(runs):
        t = time.perf_counter(); render(scenes, size); times.append(time.perf_counter() - t)
    ips = [n / t for t in times]
    t = time.perf_counter(); [sample_scene(rng) for _ in range(500)]; sample_rate = 500 / (time.perf_counter() - t)
    print(json.dumps({'bench': 'render_speed', 'size': size, 'images': n, 'threads': 1,
                      'images_per_s_median': round(statistics.median(ips)), 'images_per_s_runs': [round(v) for v in ips],
                      'scenes_sampled_per_s': round(sample_rate), 'target_images_per_s': 2000}))

if __name__ == '__main__': main()
