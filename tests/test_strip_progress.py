"tools/strip_progress.py: progress bars leave the saved outputs, every other line stays."
import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location('strip_progress', Path(__file__).resolve().parents[1]/'tools'/'strip_progress.py')
sp = importlib.util.module_from_spec(spec); spec.loader.exec_module(sp)

def test_bars_go_messages_stay():
    bars = '\rverifying:   0%|          | 0/4 [00:00<?, ?it/s]\rverifying:  50%|#####     | 2/4 [00:00<00:00, 10.15it/s]\r      \r'
    assert sp.strip_text(bars) == ''
    assert sp.strip_text('captions: 0it [00:00, ?it/s]\n') == ''
    mixed = 'a warning\n\rediting:   0%|          | 0/1 [00:00<?, ?it/s]\x1b[A\nanother line\n'
    assert sp.strip_text(mixed) == 'a warning\nanother line\n'
    plain = '[transformers] a message\n| a | table | row |\n'
    assert sp.strip_text(plain) == plain

def test_notebook_outputs():
    nb = {'cells': [{'cell_type': 'code', 'source': [], 'outputs': [
        {'output_type': 'stream', 'name': 'stderr', 'text': ['\rx:  50%|#####     | 1/2 [00:00<00:00,  2.00it/s]\r']},
        {'output_type': 'stream', 'name': 'stdout', 'text': ['exact: 97/100\n']}]}]}
    assert sp.strip_notebook(nb) and nb['cells'][0]['outputs'] == [{'output_type': 'stream', 'name': 'stdout', 'text': ['exact: 97/100\n']}]
    assert not sp.strip_notebook(nb)
