# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3.11
DJANGO ?= Django>=5.2,<5.3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)-$(shell echo '$(DJANGO)' | cksum | cut -d' ' -f1)
PIP_FLAGS ?= --quiet --disable-pip-version-check
# pyenv only puts the global version on PATH; find its 3.12 for the matrix.
PYTHON312 ?= $(shell v=$$(pyenv versions --bare 2>/dev/null | grep '^3\.12' | tail -n 1); \
	if [ -n "$$v" ]; then echo "$$(pyenv root)/versions/$$v/bin/python3.12"; else echo python3.12; fi)

.PHONY: test lint typecheck pytest demo bench test-matrix clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP_FLAGS) --upgrade pip
	$(BIN)/pip install $(PIP_FLAGS) -e '.[test]' '$(DJANGO)'
	rm -f $(VENV)/.installed-*
	touch $@

## test: create .venv, install, run ruff, mypy and pytest (what CI runs)
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## demo: the legacy Flask app behind Django, in a virtualenv of its own (make demo PORT=8000 FLASK_PORT=5000)
PORT ?= 8000
FLASK_PORT ?= 5000
DEMO_VENV ?= .venv-demo
DEMO_STAMP := $(DEMO_VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_VENV)/bin/pip install $(PIP_FLAGS) --upgrade pip
	$(DEMO_VENV)/bin/pip install $(PIP_FLAGS) -e '.[demo]'
	rm -f $(DEMO_VENV)/.installed-*
	touch $@

demo: $(DEMO_STAMP)
	$(DEMO_VENV)/bin/python examples/labs/run_demo.py --port $(PORT) --flask-port $(FLASK_PORT)

## bench: run the benchmarks side by side and write docs/benchmarks.md
bench: $(STAMP)
	$(BIN)/pip install $(PIP_FLAGS) -e '.[test,bench]' '$(DJANGO)'
	$(BIN)/python benchmarks/forwarding.py --write docs/benchmarks.md
	$(BIN)/python benchmarks/identity.py --write docs/benchmarks.md
	$(BIN)/python benchmarks/safemigrate.py --write docs/benchmarks.md
	$(BIN)/python benchmarks/routing.py --write docs/benchmarks.md

## test-matrix: Django 5.2 on Python 3.11 and Django 6.x on Python 3.12 (not in CI)
test-matrix:
	$(MAKE) test VENV=.venv-dj52-py311 PYTHON=python3.11 DJANGO='Django>=5.2,<5.3'
	$(MAKE) test VENV=.venv-dj6-py312 PYTHON=$(PYTHON312) DJANGO='Django>=6.0,<6.1'

clean:
	rm -rf .venv .venv-demo .venv-dj52-py311 .venv-dj6-py312 .mypy_cache .ruff_cache .pytest_cache
