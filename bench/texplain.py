#!/usr/bin/env python
"""TExplain on the shipped classifiers: top words per predicted class, the faithfulness control (a randomly
initialised TinyCNN of the same architecture, with its own translator), the words that survive it, and for
blue_biased the gray-cylinder words next to the oracle's measured effect of a gray cylinder. Prints JSON.

    python bench/texplain.py                 # all shipped classifiers, 200 test images, S=20
    python bench/texplain.py red_metal --n 100 --S 10
"""
import argparse, json, os, sys, time
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch

def rank(top, word):
    words = [w for w, _ in top]
    return words.index(word) + 1 if word in words else None

def gray_cylinder(rep, scenes):
    "Rates of 'gray' and 'cylinder' in class-1 / class-0 sentences (classifier and control), truth rates, oracle."
    from gift_nb.oracle import shipped_oracle
    W, C = rep['words'], rep['control_words']
    cls = W.classes
    has_gc = [any(o.color == 'gray' and o.shape == 'cylinder' for o in s.objects) for s in scenes]
    has_lgc = [any(o.color == 'gray' and o.shape == 'cylinder' and o.size == 'large' for o in s.objects) for s in scenes]
    out = {}
    for k in (0, 1):
        idx = [i for i in range(len(cls)) if cls[i] == k]
        both = sum(1 for i in idx for s in W.sets[i] if {'gray', 'cylinder'} <= s)
        both_c = sum(1 for i in idx for s in C.sets[i] if {'gray', 'cylinder'} <= s)
        out[f'class{k}'] = dict(
            rate_gray=round(W.rate('gray', k), 4), rate_cylinder=round(W.rate('cylinder', k), 4),
            rate_gray_and_cylinder=round(both / max(1, W.n_sentences(k)), 4),
            control_rate_gray=round(C.rate('gray', k), 4), control_rate_cylinder=round(C.rate('cylinder', k), 4),
            control_rate_gray_and_cylinder=round(both_c / max(1, C.n_sentences(k)), 4),
            rank_gray=rank(W.top(k, 100), 'gray'), rank_cylinder=rank(W.top(k, 100), 'cylinder'),
            truth_images_with_gray_cylinder=round(sum(has_gc[i] for i in idx) / max(1, len(idx)), 4),
            truth_images_with_large_gray_cylinder=round(sum(has_lgc[i] for i in idx) / max(1, len(idx)), 4))
    tab = shipped_oracle('blue_biased')
    for text in ('there is a large gray cylinder', 'there is a gray cylinder', 'there is a blue object'):
        r = tab.find(text)
        if r is not None:
            out[f'oracle: {text}'] = dict(cace=round(r.cace, 4), cace_ci=[round(v, 4) for v in r.cace_ci],
                                          pns=round(r.pns, 4), pns_ci=[round(v, 4) for v in r.pns_ci], n=r.n, status=r.status)
    return out

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('names', nargs='*', default=['red_metal', 'blue_biased', 'cube_or_cyan', 'two_spheres'])
    ap.add_argument('--n', type=int, default=200, help='images per classifier (balanced task data)')
    ap.add_argument('--S', type=int, default=20, help='sentences per image')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--top', type=int, default=10)
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else every core)')
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads or int(os.environ.get('OMP_NUM_THREADS') or os.cpu_count() or 1))
    from gift_nb.baselines.texplain import texplain_report
    from gift_nb.world import make_dataset
    from gift_nb.classifier import load_classifier
    out, t0 = dict(n=a.n, S=a.S, seed=a.seed, top_p=0.9, torch_threads=torch.get_num_threads(), results=[]), time.perf_counter()
    runs = [(n, 'test') for n in a.names] + ([('blue_biased', 'train')] if 'blue_biased' in a.names else [])
    for name, split in runs:
        try: rep = texplain_report(name, n=a.n, S=a.S, split=split, seed=a.seed, top=a.top)
        except FileNotFoundError as e:
            out['results'].append(dict(classifier=name, split=split, missing=str(e))); continue
        res = {k: v for k, v in rep.items() if k not in ('words', 'control_words', 'scenes')}
        c1 = rep['class1']
        res['class1']['rank_in_top'] = {w: rank(c1['top'], w) for w in ('red', 'metal', 'blue', 'gray', 'cylinder', 'cube', 'cyan', 'sphere')}
        if name == 'blue_biased': res['gray_cylinder'] = gray_cylinder(rep, rep['scenes'])
        res['example_sentences'] = {f'class{k}': next((rep['words'].texts[i][:3] for i in range(len(rep['words'].texts))
                                                       if rep['words'].classes[i] == k), []) for k in (0, 1)}
        out['results'].append(res)
        print(f"{name} ({split}) done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    out['seconds'] = round(time.perf_counter() - t0, 1)
    print(json.dumps(out))

if __name__ == '__main__':
    main()
