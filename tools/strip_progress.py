#!/usr/bin/env python
"""Remove progress-bar residue (tqdm's carriage-return updates) from the saved outputs of the notebooks.

A notebook executed with progress bars on saves every `\\r`-update of every bar in its stderr stream outputs: kilobytes
of `verifying:  50%|#####     | 2/4 [00:00<00:00, 10.15it/s]` that readers of the rendered docs see as noise. This
keeps every other line of those outputs (warnings, messages) and drops an output that held only bars.

    python tools/strip_progress.py            # rewrite the notebooks under nbs/ that carry residue
    python tools/strip_progress.py --check    # exit 1 and list them, rewriting nothing"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TQDM = re.compile(r'(\|[^|]*\|\s*\d+/\d+|\b\d+it)\s*\[[^\]]*(it/s|s/it)\]')   # 'desc:  50%|#####     | 2/4 [00:00<00:00, 10.15it/s]', 'desc: 0it [00:00, ?it/s]'
BAR = re.compile(TQDM.pattern + r'|^\s*$')                      # a bar, or the blank repaint that clears it

def strip_text(text:str) -> str:
    "The text without progress-bar segments: each line's `\\r`-separated segments that are bars or repaints are dropped."
    out = []
    for line in text.split('\n'):
        segs = [s for s in (x.replace('\x1b[A', '') for x in line.split('\r')) if not BAR.search(s)]
        if segs or ('\r' not in line and line.strip() == ''): out.append(segs[-1] if segs else line)
    s = '\n'.join(out)
    return '' if not s.strip() else s

def strip_notebook(nb:dict) -> bool:
    "Strip every code cell's stream outputs in place; True when something changed."
    changed = False
    for c in nb.get('cells', []):
        outs = []
        for o in c.get('outputs', []):
            if o.get('output_type') == 'stream':
                t = ''.join(o['text']) if isinstance(o['text'], list) else o['text']
                s = strip_text(t) if ('\r' in t or TQDM.search(t)) else t
                if s != t:
                    changed = True
                    if not s: continue
                    o = {**o, 'text': s.splitlines(keepends=True)}
            outs.append(o)
        if 'outputs' in c: c['outputs'] = outs
    return changed

def main(argv=None):
    check = '--check' in (argv if argv is not None else sys.argv[1:])
    dirty = []
    for p in sorted(ROOT.glob('nbs/**/*.ipynb')):
        if '.ipynb_checkpoints' in p.parts: continue
        nb = json.loads(p.read_text())
        if strip_notebook(nb):
            dirty.append(p.relative_to(ROOT))
            if not check: p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    if check and dirty:
        print('progress-bar residue in saved outputs (run `python tools/strip_progress.py`):', *dirty, sep='\n  ', file=sys.stderr)
        return 1
    if dirty: print('stripped progress bars from', len(dirty), 'notebooks')
    return 0

if __name__ == '__main__':
    sys.exit(main())
