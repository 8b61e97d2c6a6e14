#!/usr/bin/env python
"""Training time of the shipped world classifiers on two cores, from a timed partial run; prints one JSON object.

Training a shipped classifier (`train_shipped`) costs: rendering `n_train + n_val` images, `epochs × n_train //
batch_size` optimiser steps, and one validation pass over `n_val` images per epoch. This script times each part on a
sample (`--images` rendered training images, `--steps` optimiser steps of the real model, batch size, augmentation and
optimiser, one validation pass) in **process CPU seconds**, which other processes on a shared machine barely change,
and extrapolates to the shipped settings. With `--threads 1` (the default) the CPU time is the wall time on one idle
core, so the estimate is an upper bound for two idle cores running two threads. (With `--threads 2` on a busy
machine the CPU time is meaningless: a thread spins while its partner waits for a core.) `--full NAME` instead trains
that classifier completely with its shipped settings and reports the measured CPU and wall seconds; run it with
`--threads 2` on an idle two-core machine for the definitive wall time.
Targets: <= 300 s each, <= 600 s for the counting task `two_spheres`; <= 180 s for each classifier of the benchmark
suite (notebook 20).

    python bench/classifier_train_time.py [--threads 1] [--images 2000] [--steps 60] [--full red_metal]"""
import argparse, json, os, time


TARGET = {'two_spheres': 600}
SUITE_TARGET = 180   # the benchmark suite's own classifiers (tools/make_weights.py SUITE_TASKS)

def cpu(f, *a, **k):
    "Result of f(*a, **k) and the process CPU seconds it took."
    c = time.process_time(); r = f(*a, **k)
    return r, time.process_time() - c

def shipped_task(name):
    from gift_nb.classifier import SHIPPED
    from gift_nb.world import Bias, Task, get_task
    kw = dict(SHIPPED[name]); task, bias = get_task(name), kw.pop('bias', None)
    if bias is not None: task = Task(task.name, task.rule, Bias(task.bias.rule, *bias))
    return task, kw

def estimate(name, n_img, n_steps):
    import inspect, torch, torch.nn.functional as F
    from gift_nb.classifier import Classifier, TinyCNN, _dataset_uint8, augment, train_classifier
    from gift_nb.world import make_dataset
    task, kw = shipped_task(name)
    d = {p.name: p.default for p in inspect.signature(train_classifier).parameters.values()}
    cfg = {k: kw.get(k, d[k]) for k in ('n_train', 'n_val', 'epochs', 'batch_size', 'lr', 'weight_decay', 'noise', 'flip',
                                        'color_shuffle', 'widths')}
    (x8, y), t_data = cpu(_dataset_uint8, task, n_img, 0, 'train')
    torch.manual_seed(0)
    model = TinyCNN(task.n_classes, cfg['widths'])
    opt = torch.optim.AdamW(model.parameters(), lr=cfg['lr'], weight_decay=cfg['weight_decay'])
    g, bs = torch.Generator().manual_seed(0), cfg['batch_size']
    def steps(k):
        model.train()
        for i in range(k):
            idx = torch.randint(0, len(x8), (bs,), generator=g)
            xb = augment(x8[idx].float() / 255, cfg['noise'], cfg['flip'], g, cfg['color_shuffle'])
            loss = F.cross_entropy(model(xb), y[idx])
            opt.zero_grad(); loss.backward(); opt.step()
    steps(3)  # warm-up
    _, t_steps = cpu(steps, n_steps)
    model.eval()
    clf = Classifier(model, device='cpu')
    _, t_val = cpu(clf.predict, x8[:min(len(x8), 1000)].float() / 255)
    per_img, per_step, per_val = t_data / n_img, t_steps / n_steps, t_val / min(len(x8), 1000)
    n_total_steps = cfg['epochs'] * (cfg['n_train'] // bs)
    parts = {'render_s': per_img * (cfg['n_train'] + cfg['n_val']), 'steps_s': per_step * n_total_steps,
             'validation_s': per_val * cfg['n_val'] * cfg['epochs']}
    total = sum(parts.values())
    return {'settings': cfg, 'bias': None if task.bias is None else [task.bias.p_pos, task.bias.p_neg],
            'measured': {'images_rendered': n_img, 'render_cpu_s_per_1000': round(1000 * per_img, 3),
                         'steps_timed': n_steps, 'cpu_ms_per_step': round(1000 * per_step, 1)},
            'optimiser_steps': n_total_steps, 'estimate_cpu_s': {k: round(v, 1) for k, v in parts.items()},
            'estimate_s': round(total, 1), 'target_s': target(name), 'within_target': total <= target(name)}

def target(name):
    "The training-time target of a shipped classifier: the four first ones have their own, the suite's are 180 s."
    return TARGET.get(name, 300 if name in ('red_metal', 'cube_or_cyan', 'blue_biased') else SUITE_TARGET)

def full(name):
    from gift_nb.classifier import train_classifier
    task, kw = shipped_task(name)
    t = time.perf_counter()
    clf, c = cpu(train_classifier, task, **kw)
    return {'cpu_s': round(c, 1), 'wall_s': round(time.perf_counter() - t, 1), 'card_train': clf.card['train'],
            'final_val_acc': clf.history[-1]['val_acc']}

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 1)')
    ap.add_argument('--images', type=int, default=2000)
    ap.add_argument('--steps', type=int, default=60)
    ap.add_argument('--names', nargs='*', default=None)
    ap.add_argument('--full', default=None, help='train this shipped classifier completely and time it')
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or 1)
    import torch
    torch.set_num_threads(a.threads)
    from gift_nb.classifier import SHIPPED
    out = {'threads': a.threads, 'cpu_count': os.cpu_count(), 'load_avg_1min': os.getloadavg()[0]}
    if a.full: out['full'] = {a.full: full(a.full)}
    else: out['classifiers'] = {n: estimate(n, a.images, a.steps) for n in (a.names or SHIPPED)}
    out['load_avg_1min_after'] = os.getloadavg()[0]
    print(json.dumps(out))

if __name__ == '__main__':
    main()
