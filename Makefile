# make demo: create .venv, install lrkit with everything it needs, run the main job
#            (lrkit compare on MNIST-1D, built locally by the mnist1d package: no download).
# make test: create or reuse .venv, then lint (ruff), type-check (mypy), run the core's tests in an
#            environment with numpy alone (test-core), build the docs with --strict (docs) and run
#            the whole test suite.
# make test-fast: lint and the whole suite without the slow tests (training, subprocesses, several
#            processes, compilers).
# make test-core: the core's tests and doctests in .venv-core, where lrkit is installed without
#            extras beside numpy and the test tools only: the core promises `import lrkit` needs numpy alone.
# make docs: build the documentation site into site/ (mkdocs --strict: a broken link fails it).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lrkit-installed
TORCH := torch==2.13.0
ENV := KERAS_BACKEND=torch MPLBACKEND=Agg OMP_NUM_THREADS=1 RAY_USAGE_STATS_ENABLED=0

CORE_VENV := .venv-core
CORE_BIN := $(CORE_VENV)/bin
CORE_STAMP := $(CORE_VENV)/.lrkit-installed
# The core's tests: every one that needs numpy alone (the schedule core, the text and dict forms, the
# plateau, errors, units, properties, the range test's core, the CLI's values). A test that imports a
# framework is not here: in .venv-core it would fail, not skip.
CORE_TESTS := tests/unit tests/property tests/finder/test_finder_core.py tests/finder/test_finder_heuristics.py \
	tests/cli/test_cli.py
CORE_DESELECT := \
	tests/unit/test_core_edges.py::test_zero_dimensional_arrays_and_tensors_are_steps \
	tests/unit/test_core_edges.py::test_zero_dimensional_tensor_steps_take_no_abc_check \
	tests/unit/test_no_global_state.py::test_plotting_leaves_the_callers_backend_alone \
	tests/unit/test_spec.py::test_dict_form_through_json_and_yaml \
	tests/finder/test_finder_core.py::test_plot_writes_a_png_and_returns_a_figure_without_path \
	tests/finder/test_finder_core.py::test_plot_leaves_the_callers_matplotlib_alone \
	tests/cli/test_cli.py::test_plot_writes_png \
	tests/cli/test_cli.py::test_plot_into_missing_folder_is_an_error
# No framework in .venv-core, and `import lrkit` (then parse and evaluate) loads numpy and the standard library alone.
define CORE_CHECK
import importlib.util, json, subprocess, sys
extra = [m for m in ("torch", "keras", "jax", "tensorflow", "matplotlib", "scipy", "sklearn") if importlib.util.find_spec(m)]
assert not extra, f".venv-core must hold no framework; found {extra}"
code = "import sys, lrkit; lrkit.parse('warmup(5) >> cosine(10)').values(range(20)); print(sorted(sys.modules))"
loaded = {m.split(".")[0] for m in eval(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)}
other = sorted(loaded - set(sys.stdlib_module_names) - {"lrkit", "numpy"} - {m for m in loaded if m.startswith("_")})
assert not other, f"import lrkit loaded {other} besides numpy"
print("test-core: .venv-core holds no framework; import lrkit loads numpy alone")
endef
export CORE_CHECK
# The core modules' doctests, run on the installed package (paths in its folder).
CORE_DOCTESTS := __init__.py checks.py errors.py plateau.py spec.py schedules \
	finder/__init__.py finder/core.py finder/curve.py finder/heuristics.py finder/result.py

.PHONY: demo test test-fast test-core docs lint install clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(TORCH)
	$(BIN)/python -m pip install -e ".[all,test,docs]" "$(TORCH)"
	touch $(STAMP)

$(CORE_STAMP): pyproject.toml Makefile $(shell find src -name '*.py' -o -name py.typed)
	test -x $(CORE_BIN)/python || $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_BIN)/python -m pip install . "pytest>=7" "pytest-xdist>=3.2" "hypothesis>=6.80" "pyyaml>=6"
	touch $(CORE_STAMP)

demo: $(STAMP)
	$(ENV) $(BIN)/lrkit compare --data mnist1d --epochs 20 --seeds 10 --tune-seeds 1 --lr 0.2 --out demo-out

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/mypy

test-core: $(CORE_STAMP)
	$(CORE_BIN)/python -c "$$CORE_CHECK"
	$(ENV) $(CORE_BIN)/python -m pytest -q -n 2 --dist worksteal $(CORE_TESTS) $(addprefix --deselect ,$(CORE_DESELECT))
	cd $$($(CORE_BIN)/python -c "import lrkit, os; print(os.path.dirname(lrkit.__file__))") && \
		$(ENV) $(CURDIR)/$(CORE_BIN)/python -m pytest -q -c $(CURDIR)/pyproject.toml --rootdir . $(CORE_DOCTESTS)

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 PYTHONPATH=src $(BIN)/mkdocs build --strict --quiet
	@! grep -rlE '<(link|script|img)[^>]+(href|src)="https?://' site || \
		(echo "docs: the pages above load a font, script or image from the web"; exit 1)

test: lint test-core docs
	$(ENV) $(BIN)/python -m pytest -q -n 2 --dist worksteal

test-fast: lint
	$(ENV) $(BIN)/python -m pytest -q -n 2 --dist worksteal -m "not slow"

clean:
	rm -rf $(VENV) $(CORE_VENV) site demo-out lrkit-out .mypy_cache .ruff_cache
