# Two entry points, both from a fresh clone with Python 3.11 (see README):
#   make demo   run lazify on the bundled example app
#   make test   the whole test suite (what CI runs, via .ci/run): lint, both tiers
# While working: make check (lint and the fast tier, under a minute).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test check lint browser sweep sweep-packages fuzz tutorials corpus bench bench-libcst clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# black and ruff on lazify's own code (configured in pyproject.toml).
lint: $(STAMP)
	$(BIN)/black --check -q codemods lazifier tests scripts bench
	$(BIN)/ruff check -q codemods lazifier tests scripts bench

# The doctor --html browser test needs Chromium: Debian's package, installed when missing and
# this is root on a Debian machine (CI's clean clone); elsewhere the test says how to get it.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		start=$$(date +%s); \
		DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null && \
		echo "make: installed Debian's chromium in $$(( $$(date +%s) - start )) s"; \
	fi

test: lint browser
	$(BIN)/python -m pytest -n auto -q

# The fast tier: in-process transforms, snapshots, the engine without workers. A test that
# starts a process is marked slow (tests/conftest.py enforces it).
check: lint
	$(BIN)/python -m pytest -n auto -q -m "not slow"

sweep: $(STAMP)
	$(BIN)/python scripts/sweep.py

# Issue 10: import every module of nine large packages after the rewrite (its own venv under build/).
sweep-packages: $(STAMP)
	$(BIN)/python scripts/sweep.py --packages all

# Issue 10: the seeded fuzz of transform() (reproducers in build/fuzz-failures/).
fuzz: $(STAMP)
	$(BIN)/python scripts/fuzz.py

# app-factory on FastAPI's own tutorial apps and their tests (its own venv under build/).
tutorials: $(STAMP)
	$(BIN)/python scripts/fastapi_tutorials.py $(if $(wildcard build/tutorial-venv/bin/python),,--setup-venv)

# lazify on real projects (shared/corpus): their tests and import time before and after; not CI.
# CORPUS_ARGS="--only watchlist,flasky --keep" to narrow it; see scripts/corpus.py.
corpus: $(STAMP)
	$(BIN)/python scripts/corpus.py --jobs 2 $(CORPUS_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/bench_floor.py

bench-libcst: $(STAMP)
	$(BIN)/python bench/bench_stdlib.py

clean:
	rm -rf $(VENV) build .lazify_cache .pytest_cache
