import os, sys
from pathlib import Path
os.environ.setdefault('IN_TEST', '1')
# No network in any test process: this one, and every Python subprocess that inherits the environment (tests/nonet).
NONET = Path(__file__).resolve().parent / 'nonet'
os.environ['GIFT_NB_NO_NETWORK'] = '1'
os.environ['PYTHONPATH'] = os.pathsep.join([str(NONET)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p])
sys.path.insert(0, str(NONET))
import sitecustomize as _nonet
_nonet.block_network()
import torch
torch.set_num_threads(1)  # two xdist workers on two cores

def pytest_terminal_summary(terminalreporter):
    "Print each notebook's wall time (recorded by tests/test_notebooks.py, also under xdist)."
    rows = [(r.nodeid.split('[', 1)[-1].rstrip(']'), dict(r.user_properties).get('notebook_seconds'))
            for key in ('passed', 'failed') for r in terminalreporter.stats.get(key, [])
            if r.when == 'call' and 'notebook_seconds' in dict(r.user_properties)]
    if rows:
        terminalreporter.section('notebook times (s)')
        for name, s in sorted(rows, key=lambda t: -t[1]): terminalreporter.write_line(f"{s:6.1f}  {name}")

import pytest

@pytest.fixture(scope='session')
def tiny_models(tmp_path_factory):
    "Tiny random Hugging Face models saved to folders, one per stage and the classifier: vlm, chat, pix2pix, vit, ddpm (built offline)."
    from gift_nb.vlm_captioner import tiny_vlm
    from gift_nb.llm_proposer import tiny_random_chat
    from gift_nb.edit_intervener import tiny_edit_pipeline
    from gift_nb.testing import tiny_unet, tiny_vit_classifier
    from diffusers import DDPMPipeline, DDPMScheduler
    d = tmp_path_factory.mktemp('models')
    m, p = tiny_vlm(); m.save_pretrained(d/'vlm'); p.save_pretrained(d/'vlm')
    chat = tiny_random_chat(); chat.model.save_pretrained(d/'chat'); chat.tokenizer.save_pretrained(d/'chat')
    tiny_edit_pipeline().save_pretrained(d/'pix2pix')
    tiny_vit_classifier(image_size=64).save_pretrained(d/'vit')
    DDPMPipeline(unet=tiny_unet(), scheduler=DDPMScheduler(num_train_timesteps=100)).save_pretrained(d/'ddpm')
    return d
