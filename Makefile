# `make run`: set up, generate 1,000,000 samples to Parquet, verify them, print statistics.
# `make test`: set up the same way, then lint, type-check, build the docs (strict) and run
# the whole test suite.
# `make docs`: build the documentation site (MkDocs, warnings as errors) into site/.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
N      ?= 1000000
OUT    ?= out/samples.parquet

.PHONY: install run test lint typecheck docs pytest bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py src/dpa/_kernel/dpa_kernel.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

run: install
	$(BIN)/dpa generate -n $(N) -o $(OUT)
	$(BIN)/dpa verify $(OUT)
	$(BIN)/dpa stats $(OUT)

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
