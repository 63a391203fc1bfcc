# Two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test refresh dagster bench clean

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Run the whole pipeline on the shipped sample data and publish the dashboards.
demo: install
	$(BIN)/lagesbild sample
	$(BIN)/lagesbild refresh

## Install and run the test suite.
test: install
	$(BIN)/python -m pytest

## Open the Dagster UI on the same definitions (http://127.0.0.1:3000).
dagster: install
	$(BIN)/dagster dev -m pipelines.definitions

clean:
	rm -rf build data/incoming
