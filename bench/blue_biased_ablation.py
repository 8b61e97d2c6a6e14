#!/usr/bin/env python
"""Why the shipped `blue_biased` is trained with Bias(large gray cylinder, 0.9, 0.0) and colour shuffles; prints JSON.

Trains `blue_biased` with the shipped settings except the bias (`--p-pos`, `--p-neg`) and the colour-shuffle
probability (`--color-shuffle`), then measures with the oracle, on `--scenes` unbiased test scenes, the effect of the
bias rule "there is a large gray cylinder" and of three control concepts the classifier never saw correlated with the
label (a large gray sphere, a large green cylinder, a small gray cylinder). A cue the classifier uses shows a P̂S and
P̂NS well above the controls'. `--shipped` measures the shipped classifier instead of training one (seconds), and
`--card PATH` a classifier saved earlier with `save_classifier` (its model card records bias and shuffles).
Training takes about 2 CPU-minutes on an idle core (much longer on a busy machine).

    python bench/blue_biased_ablation.py --p-neg 0.1 --color-shuffle 0.5
    python bench/blue_biased_ablation.py --shipped"""
import argparse, json, os, time


def row(r):
    return {'hypothesis': r.hypothesis, 'n': r.n, 'cace': round(r.cace, 4), 'cace_ci': [round(v, 4) for v in r.cace_ci],
            'pns': round(r.pns, 4), 'pns_ci': [round(v, 4) for v in r.pns_ci], 'ps': round(r.ps, 4),
            'ps_ci': [round(v, 4) for v in r.ps_ci], 'ps_n': r.ps_n}

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--p-pos', type=float, default=0.9)
    ap.add_argument('--p-neg', type=float, default=0.1)
    ap.add_argument('--color-shuffle', type=float, default=0.0)
    ap.add_argument('--shipped', action='store_true', help='measure the shipped classifier (no training)')
    ap.add_argument('--card', default=None, help='measure this saved classifier (model card .json; no training)')
    ap.add_argument('--scenes', type=int, default=2000)
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 1)')
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or 1)
    import torch
    torch.set_num_threads(a.threads)
    from gift_nb.classifier import load_classifier, train_shipped
    from gift_nb.oracle import oracle_effects, oracle_scenes
    from gift_nb.world import concept, exists
    out = {'threads': a.threads, 'load_avg_1min': os.getloadavg()[0]}
    t = time.perf_counter()
    if a.shipped or a.card: clf = load_classifier(a.card or 'blue_biased', device='cpu')
    else: clf = train_shipped('blue_biased', bias=(a.p_pos, a.p_neg), color_shuffle=a.color_shuffle, device='cpu')
    b = clf.task.bias
    out.update(bias=[b.p_pos, b.p_neg], color_shuffle=clf.card['train'].get('color_shuffle'), shipped=a.shipped, card=a.card,
               train_wall_s=None if a.shipped or a.card else round(time.perf_counter() - t, 1), metrics=clf.card.get('metrics'))
    gray = lambda **k: exists(concept(**k))
    rules = [b.rule, gray(color='gray', size='large', shape='sphere'), gray(color='green', size='large', shape='cylinder'),
             gray(color='gray', size='small', shape='cylinder')]
    tab = oracle_effects(clf, [clf.task.rule] + rules, oracle_scenes('blue_biased', a.scenes, seed=11), seed=11)
    out['oracle'] = {'n_scenes': a.scenes, 'task_rule': row(tab.find(clf.task.rule)), 'bias_rule': row(tab.find(b.rule)),
                     'controls': [row(tab.find(r)) for r in rules[1:]]}
    print(json.dumps(out))

if __name__ == '__main__':
    main()
