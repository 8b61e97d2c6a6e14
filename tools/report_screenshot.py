"""Render a GIFT report page to a PNG in headless Chromium: `python tools/report_screenshot.py report.html page.png`.

The browser is optional and not a Python package: `make screenshot-deps` installs the npm packages
@sparticuz/chromium (a headless Chromium shipped, compressed, inside the npm tarball) and puppeteer-core into
.cache/chromium/ (git-ignored; about 120 MB; needs node >= 20 and npm). Chromium unpacks itself into the temporary
folder on first use. GIFT_NB_CHROMIUM names another folder holding the same packages."""
import json, os, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get('GIFT_NB_CHROMIUM') or ROOT/'.cache'/'chromium')
SCRIPT = ROOT/'tools'/'report_screenshot.cjs'
HINT = "headless Chromium is not installed: run `make screenshot-deps` (npm packages into .cache/chromium/)"


def missing() -> str|None:
    "Why no screenshot can be taken here (a one-line hint), or None when it can."
    node = shutil.which('node')
    if node is None: return "node is not on PATH: install Node.js >= 20, then run `make screenshot-deps`"
    try: major = int(subprocess.run([node, '--version'], capture_output=True, text=True, timeout=30).stdout.strip().lstrip('v').split('.')[0])
    except (ValueError, OSError, subprocess.TimeoutExpired): return "node --version failed: install Node.js >= 20"
    if major < 20: return f"node {major} is too old for @sparticuz/chromium: install Node.js >= 20"
    for pkg in ('@sparticuz/chromium', 'puppeteer-core'):
        if not (CACHE/'node_modules'/pkg/'package.json').is_file(): return HINT
    return None


def screenshot(html, # the page, e.g. a run's report.html
               png, # where to write the full-page PNG
               width:int=1100, # viewport width in CSS pixels
               timeout:int=180, # seconds before giving up
              ) -> dict:
    "Render `html` in headless Chromium and save the whole page as `png`; returns the page's width and height."
    why = missing()
    if why: raise RuntimeError(why)
    html, png = Path(html), Path(png)
    if not html.is_file(): raise FileNotFoundError(f"no page at {html}: pass a report.html (e.g. from `gift-nb demo --out DIR`)")
    png.parent.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([shutil.which('node'), str(SCRIPT), str(CACHE), str(html), str(png), str(width)],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0 or not png.is_file():
        raise RuntimeError(f"headless Chromium failed on {html} (exit {r.returncode}): {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    import argparse
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('html', help='the page to render (a report.html)')
    p.add_argument('png', help='the PNG to write')
    p.add_argument('--width', type=int, default=1100, help='viewport width in CSS pixels (default 1100)')
    a = p.parse_args(argv)
    why = missing()
    if why: print(f"report_screenshot: {why}", file=sys.stderr); return 2
    size = screenshot(a.html, a.png, a.width)
    print(f"{a.png}: page {size['width']} x {size['height']} px")
    return 0


if __name__ == '__main__': sys.exit(main())
