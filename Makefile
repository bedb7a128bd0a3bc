# `make run`: set up, generate 1,000,000 samples to Parquet, verify them, print statistics.
# `make test`: set up the same way, then lint, type-check and run the whole test suite.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
N      ?= 1000000
OUT    ?= out/samples.parquet

.PHONY: install run test lint typecheck pytest bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
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

pytest: install
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench: install
	$(BIN)/python benchmarks/bench_core.py

clean:
	rm -rf $(VENV) out build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
