# The two commands of the README's quick start:
#   make book    set up .venv and build the book into _build/html
#   make test    set up .venv, build the book, and run every test: nbval on the
#                notebooks, and the built pages opened in Debian's Chromium (which
#                it installs when run as root, and otherwise asks for)
# Both create the virtual environment on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: book test setup clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build -W -n --keep-going .

test: $(STAMP)
	@test -n "$$AECOURSE_DATA" || { echo "make test: set AECOURSE_DATA to a folder holding MNIST/raw (tests never download). With a network: $(BIN)/python -m aecourse.data ./data && AECOURSE_DATA=./data make test"; exit 2; }
	@tools/ensure_chromium.sh
	$(MAKE) --no-print-directory book
	AECOURSE_DATA="$$(cd "$$AECOURSE_DATA" && pwd)" AECOURSE_FAST=1 $(BIN)/python -m pytest --nbval --nbval-current-env --nbval-cell-timeout=300 -p no:cacheprovider

clean:
	rm -rf _build
