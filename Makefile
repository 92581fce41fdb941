# The two commands a newcomer needs: `make demo` and `make test`.
# Both create or refresh .venv from pyproject.toml first, so a fresh clone needs only Python 3.11+ and pip.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.pmarb-installed

.PHONY: demo up test lint setup clean-venv browser

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/pmarb demo

up: $(STAMP)
	$(BIN)/pmarb up

# The browser tests drive Debian's Chromium (never a downloaded browser). Install it when it is
# missing and we can (root with apt-get); otherwise those tests skip and say why.
browser:
	@if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 || \
	      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; } || \
	      echo "could not install chromium: the browser tests will skip"; \
	  else \
	    echo "chromium is not installed (apt-get install -y chromium as root): the browser tests will skip"; \
	  fi; \
	fi

test: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean-venv:
	rm -rf $(VENV)
