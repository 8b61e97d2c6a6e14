"""The report page renders in a real browser: headless Chromium (optional, `make screenshot-deps`) screenshots the
report.html of a small run, and the image must be tall (every section laid out) and not blank. Skips, with the
install hint, where the browser is absent."""
import importlib.util
from pathlib import Path
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location('report_screenshot', ROOT/'tools'/'report_screenshot.py')
shot = importlib.util.module_from_spec(_spec); _spec.loader.exec_module(shot)
needs_browser = pytest.mark.skipif(shot.missing() is not None, reason=str(shot.missing()))


@pytest.fixture(scope='module')
def page(tmp_path_factory):
    from gift_nb.classifier import load_classifier
    from gift_nb.pipeline import GIFT
    from gift_nb.world import make_dataset
    folder = tmp_path_factory.mktemp('report')
    x, y, scenes = make_dataset('red_metal', 6, 0, 'test')
    rep = GIFT(load_classifier('red_metal', device='cpu'), n_verify=30, n_oracle=100, show_progress=False).run((x, y, scenes), folder/'run')
    return rep.save(folder)['html']


@needs_browser
def test_report_renders_tall_and_not_blank(page, tmp_path):
    from PIL import Image
    size = shot.screenshot(page, tmp_path/'page.png')
    im = np.asarray(Image.open(tmp_path/'page.png').convert('L'), dtype=float)
    assert im.shape[1] == 1100 and im.shape[0] >= 0.95 * size['height'], (im.shape, size)
    assert im.shape[0] > 3000, f"the page is only {im.shape[0]} px tall: sections missing?"
    assert im.std() > 20, f"the screenshot is nearly uniform (std {im.std():.1f}): a blank page"
    inked = (im < 160).any(axis=1)   # rows with text or images on them
    thirds = [inked[i * len(inked) // 3:(i + 1) * len(inked) // 3].mean() for i in range(3)]
    assert min(thirds) > 0.2, f"share of rows with content per third of the page: {thirds}"


def test_missing_browser_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(shot, 'CACHE', tmp_path/'nothing')
    assert 'make screenshot-deps' in shot.missing()
    with pytest.raises(RuntimeError, match='make screenshot-deps'): shot.screenshot(tmp_path/'report.html', tmp_path/'x.png')
