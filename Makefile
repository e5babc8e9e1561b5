# Set-up and everyday commands. `make sweep` and `make test` work on a fresh machine.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
DEFAULT_RUN := results/offline-default

.PHONY: install sweep test lint

$(BIN)/sweep: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# Pinned first: an unpinned torch would pull the CUDA build and its gigabytes of packages.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The reference tagging scorer XTREME used, for the metric tests; --no-deps because its
	# metadata asks for Keras, which the scorer never imports.
	$(BIN)/python -m pip install --quiet --no-deps seqeval==0.0.12
	touch $(BIN)/sweep

install: $(BIN)/sweep

# The offline default sweep; run again, it resumes the finished run instead of redoing it.
sweep: install
	$(BIN)/sweep run $(if $(wildcard $(DEFAULT_RUN)/manifest.json),--resume)

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
