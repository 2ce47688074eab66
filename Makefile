# The project's front door. `make demo` and `make test` work on a fresh machine:
# each creates the virtual environment .venv from pyproject.toml on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help demo test test-fast bench release check clean system

# Debian packages the tests use: bubblewrap (the kernels' sandbox), PostgreSQL (one gradebook test), and
# Chromium with its WebDriver (the student distribution tried in a real browser).
# Installed when missing and this runs as root with apt-get; otherwise the tests that need them say so and skip.

help:
	@echo "make demo      release the assignments, grade a demo class, print the gradebook"
	@echo "make test      the whole test suite (about 20 minutes on 2 cores, the environment included)"
	@echo "make test-fast the tests that run no notebook"
	@echo "make bench     speed and accuracy against OpenCV and nbgrader, side by side"
	@echo "make release   rebuild assignments/ from solutions/"
	@echo "make check     fail if assignments/ is stale or leaks a solution"

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[grader,test]' \
		--config-settings editable_mode=compat
	touch $@

demo: $(STAMP)
	$(BIN)/elv demo

system:
	@missing=""; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing the Debian packages:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1; } || \
	    echo "could not install$$missing: the tests that need them will be skipped"; \
	  else \
	    echo "not installed:$$missing (sudo apt-get install$$missing); the tests that need them will be skipped"; \
	  fi; \
	fi

test: $(STAMP) system
	$(BIN)/python -m pytest --durations=15

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP)
	$(BIN)/python bench/run.py

release: $(STAMP)
	$(BIN)/elv release

check: $(STAMP)
	$(BIN)/elv release --check

clean:
	rm -rf $(VENV) demo-results bench-results .pytest_cache
