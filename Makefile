# Chapterhouse: `make run` starts a node, `make test` passes the tests, `make bench` measures.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config.toml

.PHONY: run test bench setup clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

setup: $(VENV)/.installed

$(CONFIG):
	cp config.example.toml $(CONFIG)
	@echo "wrote $(CONFIG) from config.example.toml; edit it for a real node"

run: setup $(CONFIG)
	$(BIN)/chapterhouse serve --config $(CONFIG)

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .venv-bovine .venv-bovine-herd build *.egg-info
