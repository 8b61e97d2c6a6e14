"""The workshop's exercise notebooks are their solution notebooks with the exercise cells emptied.

`tests/test_notebooks.py` runs the completed copies in `nbs/workshop/solutions/` (every check cell there must pass)
and skips the exercise notebooks, whose `...` placeholders fail their checks by design. This file proves the two
agree: same cells, in the same order, except the title and the `# EXERCISE` cells, each of which holds a `...` in
the exercise notebook, its answer in the solution, and is followed by a cell calling a `gift_nb.workshop` checker."""
import json, re
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
WS = ROOT/'nbs'/'workshop'
PARTS = sorted(p.name for p in WS.glob('[0-9]*.ipynb'))

def cells(path): return [(c['cell_type'], ''.join(c['source'])) for c in json.loads(path.read_text(encoding='utf-8'))['cells']]

def test_three_parts():
    assert PARTS == ['01_counterfactuals.ipynb', '02_hypotheses.ipynb', '03_verification.ipynb']
    assert sorted(p.name for p in (WS/'solutions').glob('*.ipynb')) == PARTS

@pytest.mark.parametrize('name', PARTS)
def test_exercises_match_solutions(name):
    ex, sol = cells(WS/name), cells(WS/'solutions'/name)
    assert len(ex) == len(sol), f"{name}: {len(ex)} cells, its solution {len(sol)}"
    assert ex[0][1].startswith('# Part') and sol[0][1].startswith(ex[0][1].split('\n')[0]) and '(solutions)' in sol[0][1]
    assert 'colab.research.google.com/github/gift-nb/gift-nb/blob/main/nbs/workshop/' in ex[0][1]
    assert "'google.colab' in sys.modules" in ex[1][1] and ex[1][1].startswith('#| hide')
    n_ex = 0
    for i, ((te, e), (ts, s)) in enumerate(zip(ex[1:], sol[1:]), 1):
        assert te == ts, f"{name} cell {i}: {te} against {ts}"
        if not e.startswith('# EXERCISE'):
            assert e == s, f"{name} cell {i} differs between the exercise and its solution:\n{e}\n---\n{s}"
            continue
        n_ex += 1
        head_e = [l for l in e.splitlines() if l.startswith('#')]
        assert head_e == [l for l in s.splitlines()[:len(head_e)]], f"{name} cell {i}: the exercise's comment lines differ"
        assert re.search(r'=\s*\.\.\.\s*$', e, re.M), f"{name} cell {i}: an exercise cell needs a `name = ...` placeholder"
        assert not re.search(r'=\s*\.\.\.\s*$', s, re.M), f"{name} cell {i}: the solution still holds a placeholder"
        nxt = ex[i + 1][1]
        assert ex[i + 1][0] == 'code' and re.match(r'check_\w+\(', nxt), f"{name} cell {i + 1}: an exercise is followed by its check"
        from gift_nb import workshop
        assert hasattr(workshop, re.match(r'(check_\w+)\(', nxt)[1])
    assert n_ex >= 4, f"{name}: only {n_ex} exercises"

@pytest.mark.parametrize('name', PARTS)
def test_exercise_notebooks_have_no_outputs(name):
    nb = json.loads((WS/name).read_text(encoding='utf-8'))
    assert all(not c.get('outputs') for c in nb['cells'] if c['cell_type'] == 'code'), f"{name}: clear the outputs of the exercise notebook"

def test_placeholders_fail():
    "An untouched exercise fails its check, with a hint saying what to write."
    from gift_nb import workshop as w
    for call in (lambda: w.check_flip(..., None, None), lambda: w.check_caption(..., None, None), lambda: w.check_validity(..., []),
                 lambda: w.check_hypothesis(..., [], None), lambda: w.check_supporting(..., '', []), lambda: w.check_score(..., '', []),
                 lambda: w.check_ranking(..., [], []), lambda: w.check_pns(..., None), lambda: w.check_decision(..., ..., None),
                 lambda: w.check_verified(...), lambda: w.check_stage3_top(..., []), lambda: w.check_shortcut_named(..., None),
                 lambda: w.check_shortcut_task(...)):
        with pytest.raises(w.NotYet, match='replace the `...`'): call()

@pytest.mark.parametrize('name', PARTS)
def test_saved_solutions_passed_every_check(name):
    "The committed outputs of each solution notebook show a ✓ under every check cell (`make nbs` saved them)."
    nb = json.loads((WS/'solutions'/name).read_text(encoding='utf-8'))
    checks = [c for c in nb['cells'] if c['cell_type'] == 'code' and re.match(r'check_\w+\(', ''.join(c['source']))]
    assert checks
    for c in checks:
        text = ''.join(''.join(o.get('text', '')) for o in c.get('outputs', []) if o.get('output_type') == 'stream')
        assert text.startswith('✓'), f"{name}: the saved output of `{''.join(c['source'])}` is {text!r}: rerun tools/run_notebooks.py on it"
