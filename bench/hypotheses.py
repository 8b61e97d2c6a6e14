#!/usr/bin/env python
"""Stage-3 benchmark: hypotheses from captions of the shipped classifiers' flips, against its targets.

    python bench/hypotheses.py                              # aggregator on all four shipped classifiers
    python bench/hypotheses.py --llm smollm2                # also SmolLM2 (needs `make llm`, or recorded answers)
    python bench/hypotheses.py --captions run/captions.jsonl --target "there is a red metal object"   # real stage-2 records

Without --captions, the captions are ORACLE captions of classifier flips (stages 1 and 2 replaced by exact edits):
world test scenes, random single edits (gift_nb.hypotheses.oracle_flip_captions), kept when the classifier's decision
flips, captioned with world.Edit.describe. The proposers see the caption records only.
Prints one JSON object: per classifier the aggregator's top 5, the rank of the target rule (the task's rule; for
blue_biased "there is a blue object"; target: rank <= 5), the control (the top hypothesis changes when the captions
come from another classifier), and with --llm the LLM's parse rate and how many of its parsed proposals are new
relative to the aggregator's hypotheses."""
import argparse, json, os, sys, time, warnings
from pathlib import Path

TARGETS = {'red_metal': None, 'cube_or_cyan': None, 'two_spheres': None, 'blue_biased': 'there is a blue object'}

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('classifiers', nargs='*', default=list(TARGETS))
    ap.add_argument('--n-scenes', type=int, default=1000, help='world test scenes per classifier')
    ap.add_argument('--edits', type=int, default=8, help='random single edits per scene')
    ap.add_argument('--seed', type=int, default=0, help='seed of the scenes and edits')
    ap.add_argument('--captions', help='a JSONL file of stage-2 Caption records (replaces the oracle captions)')
    ap.add_argument('--target', help='the rule expected in the top 5 for --captions')
    ap.add_argument('--llm', choices=['smollm2'], help='also run the LLM proposer')
    ap.add_argument('--llm-cache', default=str(Path(__file__).resolve().parents[1] / 'nbs' / 'data' / 'smollm2_bench_answers.jsonl'),
                    help='record/replay file of the LLM answers')
    ap.add_argument('--threads', type=int, default=None, help='torch threads (default: $OMP_NUM_THREADS, else 1)')
    a = ap.parse_args(argv)
    a.threads = a.threads or int(os.environ.get('OMP_NUM_THREADS') or 1)
    import torch
    torch.set_num_threads(a.threads)
    from gift_nb.core import Caption, ModelCache, read_jsonl, record_from_dict
    from gift_nb.hypotheses import CaptionAggregator, oracle_flip_captions, rank_of
    from gift_nb.llm_proposer import LLMProposer
    from gift_nb.world import TASKS, equivalent, make_scenes, parse_rule, rule_from_json
    runs = {}
    if a.captions:
        if not a.target: ap.error('--captions needs --target (the rule expected in the top 5)')
        runs[Path(a.captions).stem] = ([record_from_dict(d) for d in read_jsonl(a.captions) if d.get('kind') == 'caption'],
                                       parse_rule(a.target), 'stage-2 records ' + a.captions)
    else:
        from gift_nb.classifier import load_classifier
        for name in a.classifiers:
            t = time.perf_counter()
            caps = oracle_flip_captions(load_classifier(name, device='cpu'), make_scenes(name, a.n_scenes, a.seed, 'test')[0],
                                        edits_per_scene=a.edits, seed=a.seed)
            runs[name] = (caps, parse_rule(TARGETS.get(name) or TASKS[name].rule), f'oracle captions ({time.perf_counter() - t:.1f} s)')
    out = {'command': 'python bench/hypotheses.py ' + ' '.join(argv if argv is not None else sys.argv[1:]),
           'caption_source': 'stage-2 records' if a.captions else
               'oracle captions of classifier flips (stage 1 and 2 replaced by exact edits)',
           'n_scenes': a.n_scenes, 'edits_per_scene': a.edits, 'seed': a.seed, 'classifiers': {}}
    tops = {}
    for name, (caps, target, src) in runs.items():
        agg = CaptionAggregator()
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            hs = agg(caps)
        dt = time.perf_counter() - t
        r = rank_of(hs, target)
        tops[name] = hs[0] if hs else None
        d = {'captions': len(caps), 'directions': {k: sum(c.direction == k for c in caps) for k in sorted({c.direction for c in caps})},
             'caption_seconds': src, 'aggregator_seconds': round(dt, 2), 'target': str(target), 'target_rank': r,
             'target_in_top5': r is not None and r <= 5, 'sent': agg.log.get('sent'),
             'top5': [{'text': h.text, 'score': h.score, 'out': h.provenance['out'], 'in': h.provenance['in']} for h in hs[:5]]}
        if a.llm:
            llm = LLMProposer(cache=ModelCache(a.llm_cache, mode='record'))
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                lh = llm(caps)
            llm_hs = [h for h in lh if h.source == 'llm']
            new = [h for h in llm_hs if h.rule is not None and rank_of(hs, rule_from_json(h.rule), h.k) is None]
            d['llm'] = {'model': llm.model_id, 'seconds': round(time.perf_counter() - t, 1), 'proposals': llm.log.get('proposals', 0),
                        'parsed': llm.log.get('parsed', 0), 'parse_rate': llm.log.get('parse_rate'), 'repaired': llm.log.get('repaired'),
                        'fallback': llm.log.get('fallback'), 'distinct_hypotheses': len(llm_hs),
                        'new_vs_aggregator': len(new), 'new': [h.text for h in new], 'target_rank': rank_of(llm_hs, target),
                        'hypotheses': [h.text for h in llm_hs]}
        out['classifiers'][name] = d
    names = [n for n in tops if tops[n] is not None and tops[n].rule is not None]
    if len(names) > 1:   # control: captions of another classifier must change the top hypothesis
        out['control'] = {f"{x} vs {y}": not equivalent(rule_from_json(tops[x].rule), rule_from_json(tops[y].rule))
                          for i, x in enumerate(names) for y in names[i + 1:]}
        out['control_all_differ'] = all(out['control'].values())
    out['all_targets_in_top5'] = all(d['target_in_top5'] for d in out['classifiers'].values())
    print(json.dumps(out))

if __name__ == '__main__': main()
