# The project's front door. `make demo` and `make test` work on a fresh machine:
# each creates the virtual environment .venv from pyproject.toml on first use.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help demo test test-fast bench release check clean

help:
	@echo "make demo      release the assignments, grade a demo class, print the gradebook"
	@echo "make test      the whole test suite (about 3 minutes on 2 cores)"
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

test: $(STAMP)
	$(BIN)/python -m pytest

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
