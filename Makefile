# make demo: create .venv, install lrkit with everything it needs, run the main job
#            (lrkit compare on MNIST-1D, built locally by the mnist1d package: no download).
# make test: create or reuse .venv and run the whole test suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lrkit-installed
TORCH := torch==2.13.0

.PHONY: demo test install clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(TORCH)
	$(BIN)/python -m pip install -e ".[all,test]" "$(TORCH)"
	touch $(STAMP)

demo: $(STAMP)
	MPLBACKEND=Agg $(BIN)/lrkit compare --data mnist1d --out demo-out

test: $(STAMP)
	KERAS_BACKEND=torch MPLBACKEND=Agg OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2

clean:
	rm -rf $(VENV) demo-out
