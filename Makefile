# Two commands a newcomer needs: `make run` and `make test`. Both make their own
# virtual environment in .venv and install what they need into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint chat clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,telegram,slack,semantic]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/candor chat $(ARGS)

chat: run

lint: $(STAMP)
	$(BIN)/ruff check bot adapters tests $(wildcard benchmarks)
	$(BIN)/ruff format --check bot adapters tests $(wildcard benchmarks)
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
