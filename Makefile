# Chapterhouse: `make run` starts a node, `make test` passes the tests, `make bench` measures.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config.toml

.PHONY: run test lint bench setup clean chromium wrk messages postgres

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

setup: $(VENV)/.installed

# A first config: the example's, with a new random admin token (never overwrites one).
$(CONFIG): | setup
	$(BIN)/chapterhouse init --config $(CONFIG)

run: setup $(CONFIG)
	$(BIN)/chapterhouse serve --config $(CONFIG)

# The catalogs: extract every page string (Python N_(), templates' {% trans %} and _()) and
# update each language's .po (then translate the new entries). The .po files are compiled in
# memory when a node starts: there is no .mo to build.
messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output -o node/locale/messages.pot .
	$(BIN)/pybabel update -i node/locale/messages.pot -d node/locale --no-fuzzy-matching --ignore-obsolete

# The browser tests drive Debian's chromium (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	  else echo "the browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi; }

# The house's habits: lint and format, the layers contract, types of the protocol layer.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# The suite runs twice: on SQLite files, then on PostgreSQL. The PostgreSQL pass uses the server that
# CHAPTERHOUSE_TEST_POSTGRES names (postgresql://postgres@127.0.0.1/test, say), else a throwaway
# cluster of its own from Debian's postgresql package (initdb in a temporary folder, a Unix socket only).
postgres:
	@[ -n "$$CHAPTERHOUSE_TEST_POSTGRES" ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; \
	  else echo "the PostgreSQL tests need a server (CHAPTERHOUSE_TEST_POSTGRES) or Debian's postgresql: sudo apt-get install postgresql" >&2; exit 1; fi; }

# The two passes run at once: each is mostly one busy Python process (the nodes under test share
# its event loop), so on two cores both take little longer than the slower one alone. The
# PostgreSQL pass prints as it goes; the SQLite pass's log (test-artifacts/sqlite-pass.log) is
# printed when both are done: its summary, or all of it when it failed.
test: lint chromium postgres
	@mkdir -p test-artifacts; \
	$(BIN)/python -m pytest -q > test-artifacts/sqlite-pass.log 2>&1 & sqlite=$$!; \
	$(BIN)/python -m pytest -q --store postgres; postgres=$$?; \
	wait $$sqlite; status=$$?; \
	echo "--- the SQLite pass (test-artifacts/sqlite-pass.log):"; \
	if [ $$status = 0 ]; then tail -n 3 test-artifacts/sqlite-pass.log; else cat test-artifacts/sqlite-pass.log; fi; \
	[ $$status = 0 ] && [ $$postgres = 0 ]

# The inbox benchmarks are driven by Debian's wrk (a load generator written in C), installed
# here as the browser tests' chromium is.
wrk:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk; \
	  else echo "the inbox benchmarks need Debian's wrk: sudo apt-get install wrk" >&2; exit 1; fi; }

bench: setup wrk
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .venv-bovine .venv-bovine-herd build *.egg-info
