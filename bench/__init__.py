"""gift_nb's measurement scripts, run one by one (`python bench/x.py`, `python -m bench.x`) or as one suite:
`python -m bench [--only speed|targets|studies] [--out FILE]` writes one JSON of every figure (see `bench/__main__.py`).

Every script prints its figures as one JSON object on its last stdout line; modules starting with `_` are helpers, not
scripts. The oracle-scored benchmark is the command `gift-nb bench` (notebook 20), which `make bench` runs after the suite."""
