#!/usr/bin/env python
"""GIFT on 256 images of a freshly trained world classifier, default backends: wall time per stage; prints one JSON object.

A new `TinyCNN` is trained on `--task` with `--train-seed` (a classifier no default of the library was tuned on; its
training is set-up, timed apart), then `GIFT(classifier).run(images)` runs on `--n` balanced test images with every
default (latent search with the world priors, the shipped change captioner, the caption aggregator, world
interventions on 200 fresh scenes, the oracle). The figure is the wall time of `run` — from the call to the report,
all stages and the report's scoring included — as the median of `--runs` runs, each in a fresh run directory (nothing
resumed), with the accepted hypotheses of every run (they must agree: same seed, same report).

    python -m bench.gift_256 [--task red_and_blue] [--train-seed 1] [--n 256] [--runs 3] [--threads 2]
    python -m bench.gift_256 --classifier red_metal     # a shipped classifier instead of a fresh one"""
import argparse, json, os, statistics, tempfile, time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--task', default='red_and_blue', help='world task the fresh classifier is trained on')
    ap.add_argument('--train-seed', type=int, default=1)
    ap.add_argument('--n-train', type=int, default=8000, help='training images of the fresh classifier')
    ap.add_argument('--epochs', type=int, default=6)
    ap.add_argument('--classifier', default=None, help='a shipped classifier instead of training one')
    ap.add_argument('--n', type=int, default=256, help='images explained (balanced test split)')
    ap.add_argument('--seed', type=int, default=0, help="the run's seed")
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 2)')
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or 2)
    import torch
    torch.set_num_threads(a.threads)
    from gift_nb.classifier import load_classifier, train_classifier
    from gift_nb.pipeline import GIFT
    from gift_nb.world import make_dataset
    load0 = os.getloadavg()
    t = time.perf_counter()
    if a.classifier: clf = load_classifier(a.classifier, device='cpu'); train_s = None
    else:
        clf = train_classifier(a.task, n_train=a.n_train, epochs=a.epochs, seed=a.train_seed, device='cpu', show_progress=False)
        train_s = round(time.perf_counter() - t, 1)
    x, y, scenes = make_dataset(clf.task, a.n, seed=100 + a.seed, split='test')
    acc = float((clf.predict(x) == y).float().mean())
    walls, stages, accepted = [], [], []
    for _ in range(a.runs):
        with tempfile.TemporaryDirectory() as d:
            g = GIFT(clf, show_progress=False)
            t0 = time.perf_counter()
            rep = g.run((x, y, scenes), run_dir=d, seed=a.seed)
            walls.append(time.perf_counter() - t0)
        stages.append({k: round(v, 2) for k, v in rep.timings.items() if v is not None})
        accepted.append([v.hypothesis for v in rep.verifications if v.status == 'accepted'])
    med = statistics.median(walls)
    print(json.dumps({'task': clf.task.name, 'rule': str(clf.task.rule), 'classifier': a.classifier or f'fresh (seed {a.train_seed})',
                      'train_s': train_s, 'test_accuracy': round(acc, 4), 'n_images': a.n, 'threads': a.threads, 'runs': a.runs,
                      'wall_s_median': round(med, 2), 'wall_s_runs': [round(w, 2) for w in walls],
                      'stage_s_median': {k: round(statistics.median(s[k] for s in stages), 2) for k in stages[0]},
                      'accepted': accepted[0], 'same_accepted_every_run': all(x == accepted[0] for x in accepted),
                      'target_s': 20, 'load_avg_before': [round(v, 2) for v in load0],
                      'load_avg_after': [round(v, 2) for v in os.getloadavg()]}))


if __name__ == '__main__':
    main()
