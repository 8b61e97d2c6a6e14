"""gift_nb: GIFT explains what an image classifier has learned, in words, and proves it by interventions.

The names a user starts with import from here, on first use (so `import gift_nb` stays light):

    from gift_nb import GIFT, load_classifier, make_dataset
    report = GIFT(load_classifier('red_metal')).run(make_dataset('red_metal', 48, 0, 'test'))

Every stage lives in its own module (gift_nb.counterfactuals, .captioning, .hypotheses, .verification, ...)."""

__version__ = "0.1.0"


_START = {'GIFT': 'pipeline', 'Report': 'report', 'load_classifier': 'classifier', 'as_classifier': 'classifier',
          'make_dataset': 'world', 'get_task': 'world', 'parse_rule': 'world', 'TASKS': 'world', 'verify': 'verification',
          'run_benchmark': 'benchmark', 'GLOSSARY': 'core'}

def __getattr__(name):
    if name in _START:
        import importlib
        return getattr(importlib.import_module(f"gift_nb.{_START[name]}"), name)
    raise AttributeError(f"module 'gift_nb' has no attribute {name!r}")

def __dir__(): return sorted(list(globals()) + list(_START))
