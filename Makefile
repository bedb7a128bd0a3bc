# `make run`: set up, generate 1,000,000 samples to Parquet, verify them, print statistics.
# `make test`: set up the same way, then lint, type-check and run the whole test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
N      ?= 1000000
OUT    ?= out/samples.parquet

.PHONY: install run test lint typecheck pytest bench clean

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

# The whole suite on the default (native) backend, the kernel required; then the
# modules that generate, again on the pure-Python reference.
pytest: install
	DPA_REQUIRE_NATIVE=1 $(BIN)/python -m pytest
	DPA_BACKEND=python $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/test_generate.py tests/test_io.py tests/test_verify.py tests/test_cli.py

test: lint typecheck pytest

bench: install
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_kernel.py
	$(BIN)/python benchmarks/bench_distributed.py

clean:
	rm -rf $(VENV) out build *.egg-info src/*.egg-info src/dpa/_kernel/*.so .pytest_cache .mypy_cache .ruff_cache .hypothesis
