#!/usr/bin/env python
"""Held-out accuracy and load time of the shipped world classifiers, on fresh images; prints one JSON object.

Accuracy is measured on `--n` freshly rendered, balanced images of each task's unbiased test split (seed `--seed`,
not the seed the model cards were measured with), and for a biased task also on its biased training distribution.
Targets: >= 0.98 on the unbiased test split (>= 0.97 for the counting task `two_spheres`); load < 1 s.

    python bench/classifier_accuracy.py [--n 4000] [--seed 7] [--threads 2]"""
import argparse, json, os, sys, time


TARGET = {'two_spheres': 0.97}

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=4000)
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 2)')
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or 2)
    import torch
    torch.set_num_threads(a.threads)
    from gift_nb.classifier import evaluate, list_classifiers, load_classifier
    names = list_classifiers()
    if not names: sys.exit("no shipped classifiers: run `make weights` first")
    out = {'n_images': a.n, 'seed': a.seed, 'threads': a.threads, 'load_avg_1min': os.getloadavg()[0], 'classifiers': {}}
    for name in names:
        t = time.perf_counter(); clf = load_classifier(name, device='cpu'); load_s = time.perf_counter() - t
        r = {'rule': str(clf.task.rule), 'load_s': round(load_s, 4)}
        t = time.perf_counter()
        r['test'] = evaluate(clf, n=a.n, seed=a.seed)
        if clf.task.bias is not None:
            r['bias'] = {'rule': str(clf.task.bias.rule), 'p_pos': clf.task.bias.p_pos, 'p_neg': clf.task.bias.p_neg}
            r['biased'] = evaluate(clf, n=a.n, seed=a.seed, biased=True)
        r['eval_s'] = round(time.perf_counter() - t, 1)
        r['target'] = TARGET.get(name, 0.98)
        r['meets_target'] = r['test']['accuracy'] >= r['target'] and load_s < 1
        tr = clf.card.get('train', {})
        r['card'] = {'test_accuracy': clf.card.get('metrics', {}).get('test', {}).get('accuracy'),
                     'data_seconds': tr.get('data_seconds'), 'train_seconds': tr.get('train_seconds')}
        out['classifiers'][name] = r
    out['all_meet_targets'] = all(r['meets_target'] for r in out['classifiers'].values())
    print(json.dumps(out))

if __name__ == '__main__':
    main()
