"""gift_nb: GIFT explains what an image classifier has learned, in words, and proves it by interventions.

The names a user starts with import from here, on first use (so `import gift_nb` stays light):

    from gift_nb import GIFT, load_classifier, make_dataset
    report = GIFT(load_classifier('red_metal')).run(make_dataset('red_metal', 48, 0, 'test'))

Every stage lives in its own module (gift_nb.counterfactuals, .captioning, .hypotheses, .verification, ...); the
systems GIFT is compared with live in the sub-package gift_nb.baselines (.craft, .craft_plus, .ltx, .texplain, and
.saliency_metrics, which judges LTX)."""

__version__ = "0.1.0"

import sys


_START = {'GIFT': 'pipeline', 'Report': 'report', 'load_classifier': 'classifier', 'as_classifier': 'classifier',
          'make_dataset': 'tasks', 'get_task': 'tasks', 'parse_rule': 'rules', 'TASKS': 'tasks', 'verify': 'verification',
          'run_benchmark': 'benchmark', 'GLOSSARY': 'core'}

# Modules that moved, old name -> new name. `import gift_nb.craft` (and `from gift_nb.ltx import LTX`, ...) keeps
# working: it imports the new module and binds it under the old name too, so both names are one module object.
MOVED_MODULES = {f"gift_nb.{m}": f"gift_nb.baselines.{m}" for m in ('craft', 'craft_plus', 'ltx', 'texplain', 'saliency_metrics')}


class _MovedModuleFinder:
    """A `sys.meta_path` finder (and loader) for `MOVED_MODULES`: importing an old name imports the new module.

    It imports nothing until an old name is imported; every other import passes it with one dict lookup."""
    specs = {}   # new module name -> its own spec, which the import system overwrites with the old name's

    def find_spec(self, name, path=None, target=None):
        if name not in MOVED_MODULES: return None
        from importlib.machinery import ModuleSpec
        return ModuleSpec(name, self)

    def create_module(self, spec):
        import importlib
        module = importlib.import_module(MOVED_MODULES[spec.name])
        self.specs[module.__name__] = module.__spec__
        return module

    def exec_module(self, module):   # already executed under its new name: only give it back its own spec
        module.__spec__ = self.specs[module.__name__]


if not any(type(f).__name__ == '_MovedModuleFinder' for f in sys.meta_path): sys.meta_path.insert(0, _MovedModuleFinder())


def __getattr__(name):
    if name in _START:
        import importlib
        return getattr(importlib.import_module(f"gift_nb.{_START[name]}"), name)
    if f"gift_nb.{name}" in MOVED_MODULES:   # `gift_nb.ltx` as an attribute, before anything imported it
        import importlib
        return importlib.import_module(f"gift_nb.{name}")
    raise AttributeError(f"module 'gift_nb' has no attribute {name!r}")

def __dir__(): return sorted(list(globals()) + list(_START))
