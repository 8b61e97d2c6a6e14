#!/usr/bin/env python
"""Are the attributes visible? Train a small probe CNN for 2 minutes on single-object crops of rendered scenes, then
report held-out accuracy for shape, colour, size and material (target >= 99% each). Prints JSON.

Crops are 24x24 pixels of 64x64 renders, centred on each object (neighbours and partial occlusion included, as in
the data the classifiers see); size stays readable because crops are not rescaled.

    python bench/world_probe.py [SECONDS] [--seed 0] [--threads 2]      # SECONDS of training, 120 by default"""
import argparse, json, os, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from gift_nb.world import ATTRIBUTES, sample_scene, render, object_centers

CROP = 24

def crops(n_scenes, seed):
    rng = np.random.default_rng(seed)
    scenes = [sample_scene(rng) for _ in range(n_scenes)]
    x = F.pad(render(scenes), (CROP, CROP, CROP, CROP), mode='replicate')
    xs, ys = [], []
    for j, s in enumerate(scenes):
        for o, (c, r) in zip(s.objects, object_centers(s)):
            c, r = int(round(c)) + CROP, int(round(r)) + CROP
            xs.append(x[j, :, r - CROP // 2:r + CROP // 2, c - CROP // 2:c + CROP // 2])
            ys.append([ATTRIBUTES[a].index(getattr(o, a)) for a in ATTRIBUTES])
    return torch.stack(xs), torch.tensor(ys)

class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 64, 3, padding=1, stride=2), nn.ReLU(),
                                  nn.Conv2d(64, 64, 3, padding=1, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(64 * 36, 128), nn.ReLU())
        self.heads = nn.ModuleList(nn.Linear(128, len(v)) for v in ATTRIBUTES.values())
    def forward(self, x):
        h = self.body(x); return [hd(h) for hd in self.heads]

def main(seconds=120, seed=0, threads=2):
    torch.manual_seed(seed); torch.set_num_threads(threads)
    t0 = time.perf_counter()
    xtr, ytr = crops(12000, seed); xte, yte = crops(2000, seed + 1)
    t_data = time.perf_counter() - t0
    net = Probe(); opt = torch.optim.Adam(net.parameters(), 2e-3)
    t0 = time.perf_counter(); steps = 0; g = torch.Generator().manual_seed(seed)
    while time.perf_counter() - t0 < seconds:
        idx = torch.randint(len(xtr), (128,), generator=g)
        loss = sum(F.cross_entropy(o, ytr[idx, k]) for k, o in enumerate(net(xtr[idx])))
        opt.zero_grad(); loss.backward(); opt.step(); steps += 1
    net.eval()
    with torch.no_grad(): outs = [torch.cat(o) for o in zip(*(net(xte[i:i + 1000]) for i in range(0, len(xte), 1000)))]
    acc = {a: round(float((o.argmax(1) == yte[:, k]).float().mean()), 4) for k, (a, o) in enumerate(zip(ATTRIBUTES, outs))}
    k = list(ATTRIBUTES).index('shape'); pred = outs[k].argmax(1)
    confusion = [[int(((yte[:, k] == i) & (pred == j)).sum()) for j in range(len(ATTRIBUTES['shape']))] for i in range(len(ATTRIBUTES['shape']))]
    print(json.dumps({'bench': 'world_probe', 'shape_confusion(rows=true ' + '/'.join(ATTRIBUTES['shape']) + ')': confusion, 'train_crops': len(xtr), 'test_crops': len(xte), 'train_seconds': seconds,
                      'steps': steps, 'data_seconds': round(t_data, 1), 'accuracy': acc, 'target': 0.99, 'threads': torch.get_num_threads()}))

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('seconds', type=float, nargs='?', default=120, help='training seconds')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 2)')
    a = ap.parse_args()
    main(a.seconds, a.seed, a.threads or int(os.environ.get('OMP_NUM_THREADS') or 2))
