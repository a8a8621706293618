# The two commands: `make run` and `make test`. Everything else is a step of those.
# The interpreter the virtual environment is made with: the distribution's own Python 3.11 or
# 3.12 where it can make one (Debian builds it with profile-guided optimisation and LTO; here it
# runs Kefu's chat path about a quarter faster than a plain source build such as pyenv's, see
# docs/decisions/0007-interpreter.md), else python3. `make PYTHON=...` chooses another; a
# .venv made with a different interpreter is kept until it is removed.
ifndef PYTHON
PYTHON := $(or $(firstword $(foreach candidate,/usr/bin/python3.12 /usr/bin/python3.11,\
	$(shell $(candidate) -c 'import ensurepip, venv' 2>/dev/null && echo $(candidate)))),python3)
endif
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
