#!/usr/bin/env python
"""GPU smoke test: the default pipeline (`gift-nb demo` of one task) and the tiny Hugging Face pipeline (a random
tiny ViT loaded through `gift_nb.classifier.from_pretrained`, the `hf:` classifier path) on a device, with the classifier
in fp32, fp16 and bf16, each report compared with the CPU fp32 report of the same run. Prints one JSON object; exit
status 0 when every comparison passes, 1 on a mismatch, 2 on bad arguments.

    python tools/gpu_smoke.py                       # CUDA if there is one, else {"skipped": "no CUDA device"}, exit 0
    python tools/gpu_smoke.py --require-gpu         # no CUDA device: exit 1
    python tools/gpu_smoke.py --device cpu          # self-check: the CPU against the CPU (fp32; must pass)
    python tools/gpu_smoke.py --precisions fp32,bf16 --task cube_or_cyan --n 48 --n-verify 200

What is compared, per pipeline and precision (tolerances are flags):

* the accepted hypotheses: the same set of texts (exact);
* P̂NS of every hypothesis verified in both runs: |device - CPU| <= --pns-tol (0.03 in fp32, --pns-tol-half 0.05 in
  fp16/bf16). Stage 4 counts argmax flips on exact world edits, so P̂NS moves only when an image's two classes are
  nearly tied; on a device stage 1's gradient search (cuDNN algorithms, TF32 convolutions on Ampere and later) may
  find other counterfactuals, and then stage 3 other hypotheses: those verified on one side only are listed, not failed;
* CaCE (mean change of the class probability under the two edits, continuous: it shows the classifier's numerical
  error on the device) of every hypothesis verified in both runs: |device - CPU| <= --cace-tol (0.02);
* the counterfactual validity rate (`flip_stats.flip_rate`): |device - CPU| <= --validity-tol (0.1).

Each check also says `identical_to_cpu`: whether the whole report equals the CPU one but for timings and folders
(expected with `--device cpu` in fp32, which the self-check asserts; not required of a GPU).

The device runs do not set `GIFT_NB_DEVICE`: every component picks the device itself (`gift_nb.core.default_device`:
CUDA, else MPS, else CPU). The JSON lists the device each component ran on (`devices`) and names, under `notes`, any
that stayed on the CPU. A transformers model from `from_pretrained` stays where its weights are (the CPU) unless
given `device=`; this script passes it, as a user must.

Colab recipe (Runtime > Change runtime type > GPU):

    !git clone https://github.com/gift-nb/gift-nb
    %cd gift-nb
    !pip install -q -e ".[dev]"
    !python tools/gpu_smoke.py --require-gpu --out gpu_smoke.json   # prints the JSON summary; exit 1 on a mismatch
    # more: --task cube_or_cyan --n 48 --n-verify 200 (the demo's sizes), --precisions fp32,fp16

Colab's torch is a CUDA build and satisfies the package's `torch>=2.1`, so the install keeps it (`make install`
installs the CPU build: not on Colab). Exit status 1 and the `problems` of each failing check say what differed.

`--precisions` picks among fp32, fp16 and bf16 (skipped with a note on GPUs without bf16): the classifier's weights
in that dtype (`Classifier` casts the images to its weights' dtype and returns float32 probabilities); every other
component stays in float32. The whole pipeline under `torch.autocast` is not supported: tried on the CPU, it stopped
with 'images contain NaN or inf values' in float16 and 'Got unsupported ScalarType BFloat16' (a bfloat16 tensor
reaching numpy) in bfloat16.

The CPU reference of the default pipeline is `gift_nb.cli.run_demo` itself; the device runs repeat its steps with the
classifier built here (so `--device cpu` also checks that they are the demo's). Sizes are small by default (`--n 16
--n-verify 100`): a smoke test, not a benchmark."""
import argparse, contextlib, json, math, os, sys, tempfile, time
from pathlib import Path

PRECISIONS = {'fp32': None, 'fp16': 'float16', 'bf16': 'bfloat16'}


def in_precision(clf, precision):
    "The `Classifier` with its weights in `precision` (fp16/bf16): it casts the images to that dtype, returns float32."
    import torch
    from gift_nb.classifier import as_classifier
    if PRECISIONS[precision] is None: return clf
    clf.model.to(getattr(torch, PRECISIONS[precision]))
    return as_classifier(clf, device=clf.device)   # a new Classifier: it reads its dtype from the weights


@contextlib.contextmanager
def _env(**kv):
    "Set (or, with None, unset) environment variables for the block."
    old = {k: os.environ.get(k) for k in kv}
    try:
        for k, v in kv.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v
        yield
    finally:
        for k, v in old.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v


def _devices(gift) -> dict:
    "Where each component of a finished `GIFT` ran."
    out = {'classifier': str(gift.classifier.device)}
    for name in ('counterfactuals', 'captioner'):
        d = getattr(getattr(gift, name, None), 'device', None)
        if d is not None: out[name] = str(d)
    return out


def run_default(task, n, n_verify, seed, device, precision, out, demo=False) -> tuple:
    """The default pipeline on `device` ('cpu', or None: the library's choice): (report dict, devices).

    `demo=True` runs `gift_nb.cli.run_demo` itself (fp32 only); otherwise its steps (the same data, seed, user
    hypotheses and `GIFT`), with the classifier in `precision`. The oracle measures rules its table lacks on
    `n_verify` scenes."""
    from gift_nb import cli
    from gift_nb.classifier import load_classifier
    from gift_nb.core import item_seed
    from gift_nb.pipeline import GIFT
    from gift_nb.world import make_dataset
    with _env(GIFT_NB_DEVICE='cpu' if device == 'cpu' else None):
        if demo:
            assert precision == 'fp32'
            return json.loads(cli.run_demo(task, out, n, n_verify, seed, n_oracle=n_verify, echo=lambda s: None).to_json()), None
        t, out = cli.check_demo_args(task, out, n, n_verify, seed, (), n_verify)
        hyps = [str(t.bias.rule)] if t.bias is not None else []   # as run_demo: a task's bias is verified too
        clf = in_precision(load_classifier(t.name), precision)
        data = make_dataset(t, n, item_seed(seed, 'demo', 'test') % 2**31, split='test')
        gift = GIFT(clf, n_verify=n_verify, n_oracle=n_verify, show_progress=None)
        rep = gift.run(data, out/'run', extra_hypotheses=hyps, seed=seed)
    return json.loads(rep.to_json()), _devices(gift)


def run_tiny_hf(model_dir, task, n, n_verify, seed, device, precision, out, demo=False) -> tuple:
    """A random tiny ViT through `from_pretrained` (the `hf:` path) explained on world images: (report dict, devices).

    A random model rarely flips in stage 1, so stage 3 may propose nothing: the task's rule and 'there is a large object'
    are verified as user hypotheses, so that stage 4 always classifies edited images on the device."""
    from gift_nb.classifier import from_pretrained
    from gift_nb.core import default_device, item_seed
    from gift_nb.pipeline import GIFT
    from gift_nb.world import get_task, make_dataset
    t = get_task(task)
    with _env(GIFT_NB_DEVICE='cpu' if device == 'cpu' else None):
        clf = in_precision(from_pretrained(model_dir, device=default_device(device)), precision)
        data = make_dataset(t, n, item_seed(seed, 'smoke', 'explain') % 2**31, split='test')
        fresh = make_dataset(t, n_verify, item_seed(seed, 'smoke', 'verify') % 2**31, split='val')
        gift = GIFT(clf, n_verify=n_verify, oracle=False, show_progress=None)
        extra = [str(t.rule)] + (['there is a large object'] if str(t.rule) != 'there is a large object' else [])
        rep = gift.run(data, Path(out)/'run', verify_on=fresh, extra_hypotheses=extra, seed=seed)
    return json.loads(rep.to_json()), _devices(gift)


def compare(ref:dict, rep:dict, pns_tol:float, validity_tol:float, cace_tol:float=0.02) -> dict:
    "Compare a device report with the CPU one: accepted set, P̂NS and CaCE of the hypotheses verified in both, validity rate."
    acc = lambda r: sorted(v['hypothesis'] for v in r['verifications'] if v['status'] == 'accepted')
    def diffs(m):   # |device - CPU| of metric m per hypothesis verified in both (NaN on both sides: skipped)
        a = {v['hypothesis']: v.get(m, math.nan) for v in ref['verifications']}
        b = {v['hypothesis']: v.get(m, math.nan) for v in rep['verifications']}
        return [{'hypothesis': h, f'{m}_cpu': a[h], m: b[h], 'diff': round(abs(a[h] - b[h]), 6)}
                for h in a if h in b and not (a[h] != a[h] and b[h] != b[h])]
    problems = []
    if acc(ref) != acc(rep): problems.append(f"accepted hypotheses differ: CPU {acc(ref)}, device {acc(rep)}")
    out = {}
    for m, name, tol in (('pns', 'P̂NS', pns_tol), ('cace', 'CaCE', cace_tol)):
        ds = diffs(m)
        bad = [d for d in ds if not d['diff'] <= tol]   # NaN on one side only fails too
        if bad: problems.append(f"{name} differs by more than {tol} for {len(bad)} hypotheses: " +
                                '; '.join(f"'{d['hypothesis']}' {d[m + '_cpu']} vs {d[m]}" for d in bad[:5]))
        out.update({f'max_{m}_diff': max((d['diff'] for d in ds), default=0.0), f'n_{m}_compared': len(ds), f'{m}_diffs': ds})
    va, vb = ref['flip_stats'].get('flip_rate'), rep['flip_stats'].get('flip_rate')
    vdiff = None if va is None or vb is None else round(abs(va - vb), 4)
    if vdiff is None or not vdiff <= validity_tol:
        problems.append(f"counterfactual validity rate differs: CPU {va}, device {vb} (tolerance {validity_tol})")
    names = lambda r: {v['hypothesis'] for v in r['verifications']}
    return {'ok': not problems, 'problems': problems, 'accepted_cpu': acc(ref), 'accepted': acc(rep),
            'only_cpu': sorted(names(ref) - names(rep)), 'only_device': sorted(names(rep) - names(ref)),
            'validity_cpu': va, 'validity': vb, 'validity_diff': vdiff, **out}


def same_content(ref:dict, rep:dict, ref_out, out) -> bool:
    "Whether two reports are equal but for their timings and the output folders they name."
    def norm(r, o):
        d = {k: v for k, v in r.items() if k != 'timings'}
        return json.dumps(d, sort_keys=True).replace(str(o), '<out>')
    return norm(ref, ref_out) == norm(rep, out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog='\n'.join(__doc__.splitlines()[1:]))
    ap.add_argument('--device', default=None, help="'cuda' (default: CUDA when there is one), 'cuda:N', or 'cpu' for the self-check")
    ap.add_argument('--require-gpu', action='store_true', help='exit 1 (not 0) when there is no CUDA device')
    ap.add_argument('--precisions', default=None, help="comma-separated among fp32,fp16,bf16 (default: all three on CUDA, fp32 on the CPU)")
    ap.add_argument('--pipelines', default='default,tiny_hf', help='comma-separated among default,tiny_hf (default: %(default)s)')
    ap.add_argument('--task', default='red_metal', help='the shipped task (default: %(default)s)')
    ap.add_argument('--n', type=int, default=16, help='images explained (default: %(default)s)')
    ap.add_argument('--n-verify', type=int, default=100, help='verification scenes (default: %(default)s)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--pns-tol', type=float, default=0.03, help='|P̂NS device - CPU| allowed in fp32 (default: %(default)s)')
    ap.add_argument('--pns-tol-half', type=float, default=0.05, help='... in fp16 / bf16 (default: %(default)s)')
    ap.add_argument('--cace-tol', type=float, default=0.02, help='|CaCE device - CPU| allowed (default: %(default)s)')
    ap.add_argument('--validity-tol', type=float, default=0.1, help='|validity rate device - CPU| allowed (default: %(default)s)')
    ap.add_argument('--out', default=None, help='also write the JSON here')
    a = ap.parse_args(argv)
    import torch
    def emit(res, code):
        text = json.dumps(res, ensure_ascii=False)
        if a.out: Path(a.out).write_text(json.dumps(res, indent=1, ensure_ascii=False) + '\n')
        print(text)
        return code
    dev = a.device
    if dev is not None:
        try: torch.device(dev)
        except (RuntimeError, TypeError): ap.error(f"--device must be cuda, cuda:N or cpu, got {dev!r}")
    if dev is None or torch.device(dev).type == 'cuda':
        if not torch.cuda.is_available():
            res = {'skipped': 'no CUDA device', 'torch': torch.__version__, 'cuda_build': torch.version.cuda,
                   'hint': 'run with --device cpu for the CPU self-check; --require-gpu makes this an error'}
            if a.require_gpu: res = {'error': 'no CUDA device (--require-gpu)', **{k: v for k, v in res.items() if k != 'skipped'}}
            return emit(res, 1 if a.require_gpu else 0)
    elif dev != 'cpu': ap.error(f"--device must be cuda, cuda:N or cpu, got {dev!r}")
    on_cpu = dev == 'cpu'
    precs = (a.precisions or ('fp32' if on_cpu else 'fp32,fp16,bf16')).split(',')
    pipes = a.pipelines.split(',')
    if bad := [p for p in precs if p not in PRECISIONS]: ap.error(f"unknown precision {', '.join(bad)}: choose among {', '.join(PRECISIONS)}")
    if bad := [p for p in pipes if p not in ('default', 'tiny_hf')]: ap.error(f"unknown pipeline {', '.join(bad)}")
    if dev and not on_cpu: torch.cuda.set_device(torch.device(dev))
    run_dev = 'cpu' if on_cpu else dev   # None: the library chooses (CUDA here)
    res = {'device': 'cpu' if on_cpu else torch.cuda.get_device_name(), 'torch': torch.__version__, 'task': a.task, 'n': a.n,
           'n_verify': a.n_verify, 'seed': a.seed, 'precisions': precs,
           'tolerances': {'pns_fp32': a.pns_tol, 'pns_half': a.pns_tol_half, 'cace': a.cace_tol, 'validity': a.validity_tol},
           'tf32': None if on_cpu else {'cudnn': torch.backends.cudnn.allow_tf32, 'matmul': torch.backends.cuda.matmul.allow_tf32},
           'checks': [], 'notes': []}
    with tempfile.TemporaryDirectory(prefix='gift_nb-smoke-') as tmp:
        tmp = Path(tmp)
        model_dir = None
        if 'tiny_hf' in pipes:
            from gift_nb.testing import tiny_vit_classifier
            model_dir = tmp/'tiny-vit'
            tiny_vit_classifier(image_size=64, seed=0).save_pretrained(model_dir)
        runners = {'default': lambda d, p, o, demo=False: run_default(a.task, a.n, a.n_verify, a.seed, d, p, o, demo),
                   'tiny_hf': lambda d, p, o, demo=False: run_tiny_hf(model_dir, a.task, a.n, a.n_verify, a.seed, d, p, o)}
        for pipe in pipes:
            t0 = time.perf_counter()
            ref, _ = runners[pipe]('cpu', 'fp32', tmp/f'{pipe}-cpu', demo=True)   # the CPU reference: the demo itself
            ref_s = round(time.perf_counter() - t0, 1)
            for prec in precs:
                rec = {'pipeline': pipe, 'precision': prec, 'cpu_seconds': ref_s}
                if prec == 'bf16' and not on_cpu and not torch.cuda.is_bf16_supported():
                    res['notes'].append(f"{pipe} bf16 skipped: this GPU has no bfloat16"); continue
                t0 = time.perf_counter()
                try: rep, devs = runners[pipe](run_dev, prec, tmp/f'{pipe}-{prec}')
                except Exception as e:   # a stage that fails on the device in this precision is a mismatch too
                    rec.update(ok=False, problems=[f"{type(e).__name__}: {str(e)[:500]}"]); res['checks'].append(rec); continue
                rec['seconds'], rec['devices'] = round(time.perf_counter() - t0, 1), devs
                tol = a.pns_tol if prec == 'fp32' else a.pns_tol_half
                rec.update(compare(ref, rep, tol, a.validity_tol, a.cace_tol))
                rec['identical_to_cpu'] = same_content(ref, rep, tmp/f'{pipe}-cpu', tmp/f'{pipe}-{prec}')   # expected on the CPU in fp32
                if not on_cpu:
                    res['notes'] += [f"{pipe}: {k} ran on {v}" for k, v in devs.items() if not v.startswith('cuda')]
                res['checks'].append(rec)
    res['notes'] = sorted(set(res['notes']))
    res['ok'] = bool(res['checks']) and all(c['ok'] for c in res['checks'])
    return emit(res, 0 if res['ok'] else 1)


if __name__ == '__main__':
    sys.exit(main())
