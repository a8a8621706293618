# The two commands: `make run` and `make test`. Everything else is a step of those.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.run-stamp
DEV_STAMP := $(VENV)/.dev-stamp
export KEFU_DATA_DIR ?= ./var
export KEFU_PORT ?= 8000

.PHONY: run test lint install migrate demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# `make run` needs only the runtime dependencies; `make test` adds the dev tools.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP) $(DEV_STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/kefu migrate

# The search index and the assistant's intent model are derived data: built here (seconds: the
# e5 vectors of the demo articles and the intent examples ship with Kefu) so that the help
# center and the assistant answer from the first request instead of while they build.
demo: migrate
	$(BIN)/kefu demo
	$(BIN)/kefu search reindex
	$(BIN)/kefu assistant train --if-needed

run: demo
	$(BIN)/kefu serve

lint: $(DEV_STAMP)
	$(BIN)/ruff check kefu tests bench
	$(BIN)/mypy kefu

test: lint
	$(BIN)/python -m pytest -n auto --dist loadgroup -q -p no:cacheprovider --durations=15

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
