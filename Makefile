# The two set-up commands (README): `make lab` and `make test`. Each builds .venv from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.reclaimlab-installed
# JupyterLab refuses to run as root without this flag; harmless otherwise.
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: lab test venv figures benchmarks clean

venv: $(STAMP)

$(STAMP): pyproject.toml setup.py reclaimlab/native/module.c reclaimlab/native/scan.c reclaimlab/native/lexer.c reclaimlab/native/pairing.c reclaimlab/native/outbuf.c reclaimlab/native/draws.c reclaimlab/native/cohorts.c reclaimlab/native/native.h
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 'setuptools>=77' wheel
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# The extension links numpy's random routines (draws.c): rebuild it against the numpy this
	# venv runs, which an isolated build environment may not have picked.
	$(BIN)/python -m pip install --quiet --no-build-isolation --no-deps -e .
	touch $@

# Opens JupyterLab on notebooks/, loopback only, Jupyter's token auth left on.
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks $(ROOT_FLAG)

test: $(STAMP)
	$(BIN)/python -m pytest

# Regenerates the whole figure catalogue (svg, png, txt) into figures/ from nothing.
figures: $(STAMP)
	rm -rf figures && $(BIN)/reclaimlab figure --all --out-dir figures

benchmarks: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis figures
