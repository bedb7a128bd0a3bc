# `make run`: install dpa with Parquet support (nothing else), generate 1,000,000 samples to
# Parquet, verify them, print statistics.
# `make test`: install everything (every extra, the test and lint tools), then lint,
# type-check, build the docs (strict) and run the whole test suite.
# `make docs`: build the documentation site (MkDocs, warnings as errors) into site/.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
N      ?= 1000000
OUT    ?= out/samples.parquet

.PHONY: install run test lint typecheck docs pytest bench clean

PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check
SOURCES := pyproject.toml setup.py src/dpa/_kernel/dpa_kernel.c src/dpa/_kernel/dpa_images.c

# Two levels of install in one virtual env: what `make run` needs (the package and
# pyarrow), and what `make test` adds (every extra and the dev tools).
install: $(VENV)/.installed-dev

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: $(SOURCES) | $(BIN)/python
	$(PIP) -e '.[parquet]'
	touch $@

$(VENV)/.installed-dev: $(SOURCES) | $(BIN)/python
	$(PIP) -e '.[dev]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/dpa generate -n $(N) -o $(OUT)
	$(BIN)/dpa verify $(OUT)
	$(BIN)/dpa stats $(OUT)
	@echo
	@echo "The dpa command is installed in $(VENV)/bin. To use it (and python with dpa):"
	@echo "    source $(VENV)/bin/activate     # then: dpa --help, dpa show 123, python"
	@echo "or call it by its path: $(VENV)/bin/dpa --help"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

docs: install
	$(BIN)/mkdocs build --strict --quiet --site-dir site

# The whole suite on the default (native) backend, the kernel required; then the
# modules that generate, again on the pure-Python reference (the quality suite on
# 100,000 ids there instead of 1,000,000).
pytest: install
	DPA_REQUIRE_NATIVE=1 $(BIN)/python -m pytest
	DPA_BACKEND=python $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/test_generate.py tests/test_io.py tests/test_verify.py tests/test_cli.py \
		tests/test_quality.py

test: lint typecheck docs pytest

bench: install
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_kernel.py
	$(BIN)/python benchmarks/bench_distributed.py

clean:
	rm -rf $(VENV) out site build *.egg-info src/*.egg-info src/dpa/_kernel/*.so .pytest_cache .mypy_cache .ruff_cache .hypothesis
