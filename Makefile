# Two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Python keeps the project's compiled modules (__pycache__/, ignored by git) even where the environment asks it not
# to write them (PYTHONDONTWRITEBYTECODE): otherwise every process of a refresh or a test run compiles the project's
# modules again (≈ 0,25 s a process on 2 cores). No PYTHONPYCACHEPREFIX: a separate cache folder would also compile
# every installed package once (≈ 7 s on the first run) instead of using the ones pip compiled.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: install demo test browser refresh dagster bench clean

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
	$(BIN)/lagesbild publish --meeting bra --period 2026-Q3 --municipality 0486

## Install and run the test suite (browser tests need Debian's chromium: installed here when run as root), one
## pytest worker per CPU, each taking the next test when it is free (pytest-xdist; `pytest tests/x.py` runs serially).
test: install browser
	$(BIN)/python -m pytest -n auto --dist worksteal

browser:
	@command -v chromium >/dev/null 2>&1 || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests and PDF packs…"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not found: browser tests will be skipped (install Debian's chromium)"; fi; }

## Open the Dagster UI on the same definitions (http://127.0.0.1:3000).
dagster: install
	mkdir -p build/dagster && cp pipelines/dagster.yaml build/dagster/dagster.yaml
	DAGSTER_HOME=$(CURDIR)/build/dagster $(BIN)/dagster dev -m pipelines.definitions

## National-scale benchmark, not a test (full scale: 5–10 minutes and 4 GB of disk): make bench SCALE=0.1
bench: install
	$(BIN)/lagesbild bench --scale $(or $(SCALE),1)

clean:
	rm -rf build data/incoming
