# make demo: create .venv, install lrkit with everything it needs, run the main job
#            (lrkit compare on MNIST-1D, built locally by the mnist1d package: no download).
# make test: create or reuse .venv, then lint (ruff), type-check (mypy) and run the whole test suite.
# make test-fast: the same without the slow tests (training, subprocesses, several processes, compilers).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lrkit-installed
TORCH := torch==2.13.0
ENV := KERAS_BACKEND=torch MPLBACKEND=Agg OMP_NUM_THREADS=1 RAY_USAGE_STATS_ENABLED=0

.PHONY: demo test test-fast lint install clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(TORCH)
	$(BIN)/python -m pip install -e ".[all,test]" "$(TORCH)"
	touch $(STAMP)

demo: $(STAMP)
	$(ENV) $(BIN)/lrkit compare --data mnist1d --epochs 20 --seeds 10 --tune-seeds 1 --lr 0.2 --out demo-out

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/mypy

test: lint
	$(ENV) $(BIN)/python -m pytest -q -n 2

test-fast: lint
	$(ENV) $(BIN)/python -m pytest -q -n 2 -m "not slow"

clean:
	rm -rf $(VENV) demo-out lrkit-out .mypy_cache .ruff_cache
