#!/usr/bin/env python
"""Render `nbs/index.ipynb` to README.md without quarto (which cannot be installed here).

Hidden cells (`#| hide`, `#| exporti`, `#| eval: false` stays visible) and directive lines are dropped, markdown cells
are copied, code cells become fenced blocks followed by their saved outputs, and figures are written as PNG files in
`README_files/` (never data URIs). The output depends only on the notebook, so `make test` can check it is in sync."""
import base64, json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HIDDEN = {'hide', 'exporti', 'export', 'exports'}  # exported cells belong to the module, not the README

def directives(src):
    "The `#| name` directives of a cell, as a set of names."
    return {l[3:].strip().split(':')[0].split()[0] for l in src.splitlines() if l.startswith('#|') and l[3:].strip()}

def render(nb_path=ROOT/'nbs'/'index.ipynb', out=ROOT/'README.md', fig_dir=ROOT/'README_files'):
    nb = json.loads(Path(nb_path).read_text(encoding='utf-8'))
    parts, figs = [], []
    for cell in nb['cells']:
        src = ''.join(cell['source'])
        if cell['cell_type'] == 'markdown':
            parts.append(src.strip()); continue
        if cell['cell_type'] != 'code' or directives(src) & HIDDEN: continue
        code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
        if code: parts.append(f"```python\n{code}\n```")
        for o in cell.get('outputs', []):
            data = o.get('data', {})
            if o['output_type'] == 'stream': parts.append("```\n" + ''.join(o['text']).rstrip() + "\n```")
            elif 'image/png' in data:
                name = f"figure-{len(figs)+1}.png"
                figs.append((name, base64.b64decode(''.join(data['image/png']))))
                parts.append(f"![]({fig_dir.name}/{name})")
            elif 'text/markdown' in data: parts.append(''.join(data['text/markdown']).strip())
            elif 'text/plain' in data: parts.append("```\n" + ''.join(data['text/plain']).rstrip() + "\n```")
    text = "<!-- Generated from nbs/index.ipynb by tools/render_readme.py: edit the notebook, not this file. -->\n\n"
    text += '\n\n'.join(p for p in parts if p) + '\n'
    if figs: fig_dir.mkdir(exist_ok=True)
    keep = {n for n, _ in figs}
    for p in (fig_dir.glob('*.png') if fig_dir.exists() else []):
        if p.name not in keep: p.unlink()
    for name, data in figs:
        p = fig_dir/name
        if not p.exists() or p.read_bytes() != data: p.write_bytes(data)
    if not out.exists() or out.read_text(encoding='utf-8') != text: out.write_text(text, encoding='utf-8')
    return out

if __name__ == '__main__':
    print(render(*map(Path, sys.argv[1:])))
