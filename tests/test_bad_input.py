"""Every case of the bad-input matrix (tests/bad_input_cases.py) gives one clear line — an exception from the Python
API, `gift-nb ...: error: ...` with exit status 2 from the command line — before any heavy work, and writes nothing."""
import contextlib, io, re
from pathlib import Path
import pytest
from bad_input_cases import CASES

RESULTS = Path(__file__).resolve().parents[1]/'nbs'/'results'/'bad_input.md'


def files(d):
    return sorted(str(p.relative_to(d)) for p in Path(d).rglob('*'))


def outcome(c, d):
    "(error class names, message, exit status) of running case `c` in folder `d`; checks that nothing was written."
    what = c.setup(d)
    before = files(d)
    if c.surface == 'python':
        try: what()
        except Exception as e:
            res = [k.__name__ for k in type(e).__mro__], str(e), None
        else: res = None, '', None
    else:
        from gift_nb.cli import main
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()): code = main(what)
        res = None, err.getvalue(), code
    assert files(d) == before, f"{c.id} wrote {sorted(set(files(d)) - set(before))}"
    return res


def check(c, res):
    "The case's contract; returns the one line the user sees."
    errs, msg, code = res
    if c.surface == 'python':
        assert errs is not None, f"{c.id}: no exception was raised"
        assert c.error in errs, f"{c.id}: raised {errs[0]}, expected {c.error}: {msg}"
        assert '\n' not in msg.strip(), f"{c.id}: the message is not one line:\n{msg}"
        line = msg
    else:
        assert code == c.code, f"{c.id}: exit status {code}, expected {c.code}; stderr:\n{msg}"
        assert 'Traceback' not in msg, msg
        lines = [l for l in msg.strip().splitlines() if l.strip()]
        while lines and (lines[0].startswith('usage:') or lines[0].startswith(' ')): lines.pop(0)   # argparse's usage block
        assert len(lines) == 1 and re.match(r'gift-nb \w+: error: ', lines[0]), f"{c.id}: not one error line:\n{msg}"
        line = lines[0]
    assert re.search(c.expect, line), f"{c.id}: {line!r} does not match {c.expect!r}"
    return line


@pytest.mark.parametrize('c', CASES, ids=[c.id for c in CASES])
def test_bad_input(c, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    check(c, outcome(c, tmp_path))


def test_matrix_covers_every_surface():
    surfaces = {s: sum(c.surface == s for c in CASES) for s in ('python', 'cli', 'config')}
    assert len(CASES) >= 30 and min(surfaces.values()) >= 5, surfaces
    assert len({c.id for c in CASES}) == len(CASES)


def test_results_page_lists_every_case():
    "nbs/results/bad_input.md (written by tools/bad_input_table.py) has a row for each case."
    text = RESULTS.read_text()
    missing = [c.id for c in CASES if f"| `{c.id}` |" not in text]
    assert not missing, f"regenerate the page: python tools/bad_input_table.py (missing rows: {missing})"


def test_debug_shows_the_traceback(tmp_path, monkeypatch):
    from gift_nb.cli import main
    monkeypatch.chdir(tmp_path)
    (tmp_path/'c.yaml').write_text('data: {kind: images}\nclassifier: {shipped: red_metal}\n')
    for argv, tb in ((['run', 'c.yaml'], False), (['run', 'c.yaml', '--debug'], True)):
        err = io.StringIO()
        with contextlib.redirect_stderr(err): assert main(argv) == 2
        assert ('Traceback (most recent call last)' in err.getvalue()) == tb, err.getvalue()
        assert err.getvalue().strip().splitlines()[-1].startswith("gift-nb run: error: data.kind: unknown kind 'images'")
