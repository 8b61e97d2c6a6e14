#!/usr/bin/env python
"""Rebuild every shipped model of gift_nb in dependency order (`make weights`).

The build is a list of steps, `STEPS`; each names the steps it needs. Later stages append their own steps (autoencoder,
change captioner, ...) with `step(...)`. Run all steps, or some with their dependencies:

    python tools/make_weights.py                      # everything, in order
    python tools/make_weights.py oracle:red_metal     # that step and what it needs
    python tools/make_weights.py --list               # the steps, in order
    python tools/make_weights.py --no-deps oracle:red_metal   # only that step (needs the shipped classifier)

Every step writes into gift_nb/weights/ (safetensors + JSON model card or table) and prints its wall time."""
import argparse, json, os, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

STEPS = {}  # name -> (function, tuple of step names it needs); insertion order is the build order

def step(name, needs=()):
    "Register a build step (a function of no arguments) under `name`, after the steps it `needs`."
    def deco(f):
        missing = [n for n in needs if n not in STEPS]
        if missing: raise ValueError(f"step {name!r} needs unknown steps {missing}: register those first")
        STEPS[name] = (f, tuple(needs)); return f
    return deco

# ---- classifiers: one TinyCNN per shipped task, then its oracle table on 10,000 scenes
SHIPPED_TASKS = ('red_metal', 'cube_or_cyan', 'two_spheres', 'blue_biased')

def _classifier_step(name):
    def build():
        from gift_nb.classifier import train_shipped, save_classifier
        _threads()
        clf = train_shipped(name, log=print)
        print(json.dumps(clf.card['metrics']))
        print('wrote', save_classifier(clf))
    return build

def _oracle_step(name):
    def build():
        from gift_nb.classifier import load_classifier
        from gift_nb.oracle import build_oracle, oracle_path
        tab = build_oracle(load_classifier(name), show_progress=True)
        tab.save(oracle_path(name))
        print(tab.format(8)); print('wrote', oracle_path(name), json.dumps(tab.meta))
    return build

for _t in SHIPPED_TASKS: step(f'classifier:{_t}')(_classifier_step(_t))
for _t in SHIPPED_TASKS: step(f'oracle:{_t}', needs=(f'classifier:{_t}',))(_oracle_step(_t))

# ---- the benchmark suite (notebook 20): one classifier per rule shape; every classifier of the suite (the four above
# too) gets an oracle profile: every 1-3-attribute concept and its absence, the task's rules and their combinations
SUITE_TASKS = ('yellow', 'green_sphere', 'small_metal_sphere', 'red_and_blue', 'three_spheres', 'no_gray',
               'red_shortcut', 'blue_red_none')
for _t in SUITE_TASKS: step(f'classifier:{_t}')(_classifier_step(_t))

def _profile_step(name):
    def build():
        from gift_nb.classifier import load_classifier
        from gift_nb.oracle import oracle_profile, profile_path, save_profile
        _threads()
        prof = oracle_profile(load_classifier(name), show_progress=False)
        for k, tab in prof.items(): print(tab.format(5)); print(json.dumps(tab.meta))
        print('wrote', save_profile(prof, profile_path(name)))
    return build

for _t in SHIPPED_TASKS + SUITE_TASKS: step(f'profile:{_t}', needs=(f'classifier:{_t}',))(_profile_step(_t))

# ---- world sprites (notebook 01): every object sprite a 64-pixel render can meet, ray-cast once; the renderer reads them
# instead of casting hundreds at the start of each command (same pixels either way)
def _sprites_step():
    from gift_nb.world import save_world_sprites
    print('wrote', save_world_sprites())

step('sprites')(_sprites_step)

# ---- world priors (notebook 04d): the palette, metal table and sphere sprites the latent search snaps its edits with;
# learned from renders (no training, no classifier), shipped so an explainer does not re-render them at start-up
def _priors_step():
    from gift_nb.priors import WorldPriors
    print('wrote', WorldPriors.learn().save_pretrained())

step('priors')(_priors_step)

# ---- autoencoder: the latent space of stage 1's counterfactual search; independent of any classifier,
# but its model card quotes how often reconstructions keep each shipped classifier's decision
def _autoencoder_step():
    import tempfile
    from gift_nb.autoencoder import train_autoencoder
    ckpt = Path(os.environ.get('GIFT_NB_AE_CKPT', Path(tempfile.gettempdir()) / 'gift_nb_autoencoder.ckpt'))
    # a fixed step count (not a wall-time budget), so a rebuild is reproducible; GIFT_NB_AE_STEPS overrides it
    ae = train_autoencoder(steps=int(os.environ.get('GIFT_NB_AE_STEPS', 2000)), ckpt=ckpt, log=print)
    from gift_nb.autoencoder import save_autoencoder
    print('wrote', save_autoencoder(ae, classifiers=SHIPPED_TASKS, log=print))
    ckpt.unlink(missing_ok=True)  # the checkpoint only serves to resume a killed build

step('autoencoder', needs=tuple(f'classifier:{t}' for t in SHIPPED_TASKS))(_autoencoder_step)

# ---- change captioner: a change reader trained on rendered world pairs, with autoencoder-reconstructed
# pairs as augmentation (so it needs the shipped autoencoder; GIFT_NB_CAPTIONER_PAE sets the share of augmented
# pairs), a fixed step count (no wall-time budget), so a rebuild follows the same recipe on any machine
def _captioner_step():
    from gift_nb.captioning import build_change_captioner
    _threads()
    env = dict(n_pairs=('GIFT_NB_CAPTIONER_PAIRS', int), steps=('GIFT_NB_CAPTIONER_STEPS', int), p_ae=('GIFT_NB_CAPTIONER_PAE', float))
    kw = {k: f(os.environ[v]) for k, (v, f) in env.items() if os.environ.get(v)}   # default: build_change_captioner's recipe
    p = build_change_captioner(**kw, log=print)
    print('wrote', p)

step('captioner', needs=('autoencoder',))(_captioner_step)

# ---- change grouper (notebook 05a): votes each changed pixel of a pair to its object, so that the captioner names
# every changed object; world pairs with 1-4 edited objects, autoencoder pairs as augmentation, a fixed step count
def _grouper_step():
    from gift_nb.grouping import build_grouper
    _threads()
    print('wrote', build_grouper(log=print))

step('grouper', needs=('autoencoder',))(_grouper_step)

# ---- LTX explainer: pretrained on world images for a shipped classifier; its card quotes pLTX metrics
def _ltx_step(name):
    def build():
        _threads()  # OMP_NUM_THREADS=1 on a shared machine: two threads spin (1,458 s instead of ~60 s for the same steps)
        from gift_nb.baselines.ltx import evaluate_ltx, save_ltx, train_shipped_ltx
        ltx = train_shipped_ltx(name, log=print)
        try: metrics = evaluate_ltx(ltx, n=64)
        except ValueError as e: metrics = {'not measured': str(e)}   # e.g. a class 1 without objects to localise
        print(json.dumps(metrics))
        print('wrote', save_ltx(ltx, name, **ltx.card, metrics={'pretrained_K0_test64': metrics}))
    return build

step('ltx:red_metal', needs=('classifier:red_metal',))(_ltx_step('red_metal'))
# the seed-systems benchmark (notebook 21): the same recipe for every other task of the suite
SEED_LTX_TASKS = tuple(t for t in SHIPPED_TASKS + SUITE_TASKS if t != 'red_metal')
for _t in SEED_LTX_TASKS: step(f'ltx:{_t}', needs=(f'classifier:{_t}',))(_ltx_step(_t))

# ---- TExplain: the frozen world LM (pretrained on scene descriptions), one linear translator per shipped
# classifier, and the translator of the faithfulness control (a randomly initialised TinyCNN of the same architecture)
def _threads():
    "Honour OMP_NUM_THREADS (main() sets every core): two threads on a loaded 2-core machine spin instead of working."
    import torch
    if os.environ.get('OMP_NUM_THREADS'): torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))

def _budget(var):
    "A wall-time budget in seconds only when the environment sets one: by default training runs its full step count, so a\n    rebuild follows the same recipe on any machine (a budget makes the result depend on the machine's speed)."
    return float(os.environ[var]) if os.environ.get(var) else None

def _texplain_lm_step():
    from gift_nb.baselines.texplain import pretrain_lm, save_lm
    _threads()
    lm = pretrain_lm(budget_s=_budget('GIFT_NB_TEXPLAIN_LM_BUDGET'), log=print)
    print(json.dumps(lm.card['metrics'])); print('wrote', save_lm(lm))

def _texplain_translator_step(name):
    def build():
        from gift_nb.classifier import load_classifier
        from gift_nb.baselines.texplain import TExplain, load_lm, random_like, save_translator
        _threads()
        lm, budget = load_lm(), _budget('GIFT_NB_TEXPLAIN_TR_BUDGET')
        if name == 'control':
            clf = load_classifier('red_metal')
            tex = TExplain(random_like(clf, seed=0), lm).fit(budget_s=budget, batch_size=int(os.environ.get('GIFT_NB_TEXPLAIN_TR_BATCH', 32)), log=print)
            extra = dict(classifier_config=clf.card['config'], random_init_seed=0)
        else: tex, extra = TExplain(load_classifier(name), lm).fit(budget_s=budget, batch_size=int(os.environ.get('GIFT_NB_TEXPLAIN_TR_BATCH', 32)), log=print), None
        print(json.dumps(tex.fit_info)); print('wrote', save_translator(tex, f'texplain_{name}', extra=extra))
    return build

step('texplain:lm')(_texplain_lm_step)
for _t in SHIPPED_TASKS: step(f'texplain:{_t}', needs=(f'classifier:{_t}', 'texplain:lm'))(_texplain_translator_step(_t))
for _t in SUITE_TASKS: step(f'texplain:{_t}', needs=(f'classifier:{_t}', 'texplain:lm'))(_texplain_translator_step(_t))   # notebook 21
step('texplain:control', needs=('classifier:red_metal', 'texplain:lm'))(_texplain_translator_step('control'))

# ---- runner
def plan(targets, deps=True):
    "The steps to run for `targets` (all when empty), with their dependencies, in registration order."
    unknown = [t for t in targets if t not in STEPS]
    if unknown: sys.exit(f"unknown step(s) {unknown}; known: {', '.join(STEPS)}")
    want = set(targets or STEPS)
    while deps:
        more = {n for t in want for n in STEPS[t][1]} - want
        if not more: break
        want |= more
    return [n for n in STEPS if n in want]

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('steps', nargs='*', help='steps to build (default: all)')
    ap.add_argument('--list', action='store_true', help='list the steps in build order and exit')
    ap.add_argument('--no-deps', action='store_true', help='do not rebuild the steps the given ones need')
    a = ap.parse_args(argv)
    if a.list:
        for n, (_, needs) in STEPS.items(): print(n, f"(needs {', '.join(needs)})" if needs else '')
        return
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    t_all = time.perf_counter()
    for n in plan(a.steps, deps=not a.no_deps):
        t = time.perf_counter()
        print(f"== {n}", flush=True)
        STEPS[n][0]()
        print(f"== {n} done in {time.perf_counter() - t:.0f} s", flush=True)
    print(f"make weights: {time.perf_counter() - t_all:.0f} s")

if __name__ == '__main__':
    main()
