"""The same seed gives the same report with 1 and 2 torch threads and on a repeat: a small `gift-nb demo` of red_metal,
each run in its own interpreter (bench/determinism.py's runner), compared through `Report.without_timings()`; and the
shipped classifier's logits do not depend on the thread count, batch size by batch size."""
import importlib.util
from pathlib import Path
import torch

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location('bench_determinism', ROOT / 'bench' / 'determinism.py')
det = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(det)


def test_tinycnn_logits_do_not_depend_on_threads():
    from gift_nb.classifier import load_classifier
    from gift_nb.world import get_task, make_dataset
    m = load_classifier('cube_or_cyan', device='cpu').model
    x = make_dataset(get_task('cube_or_cyan'), 40, 5, split='test')[0]
    before = torch.get_num_threads()
    try:
        with torch.no_grad():
            for bs in range(1, 41):
                z = {}
                for t in (1, 2):
                    torch.set_num_threads(t); z[t] = m(x[:bs])
                assert torch.equal(z[1], z[2]), (bs, (z[1] - z[2]).abs().max().item())
    finally: torch.set_num_threads(before)


def test_comparable_and_differences():
    a = {'format': 1, 'meta': {'run_dir': '/tmp/x/out/run'}, 'v': [1.0, float('nan')], 'timings': {'data': 1.0}}
    assert det.differences(a, {**a, 'v': [1.0, float('nan')]}) == []          # NaN equals NaN
    d = det.differences(a, {**a, 'v': [1.0 + 1e-12, float('nan')]})
    assert d == [{'key': 'v[0]', 'a': 1.0, 'b': 1.0 + 1e-12}]


def test_demo_same_report_with_1_and_2_threads_and_on_a_repeat(tmp_path):
    runs = {}
    for name, threads in (('threads_1', 1), ('threads_2', 2), ('repeat', 1)):
        out = tmp_path / name
        runs[name] = det.comparable(det.run_demo('red_metal', 8, 40, 0, threads, out, extra=['--n-oracle', '20'], timeout=300), out)
    base = runs['threads_1']
    assert base['meta']['n_explain'] == 8 and base['meta']['run_dir'] == '<out>/run' and 'timings' not in base
    assert len(base['verifications']) >= 5 and base['examples']   # a real report, with floats from the classifier
    for name in ('threads_2', 'repeat'):
        assert det.differences(base, runs[name]) == [], name
