# The two commands of the README's quick start:
#   make book    set up .venv and build the book into _build/html
#   make test    set up .venv, build the book, and run every test: nbval on the
#                notebooks, and the built pages opened in Debian's Chromium (which
#                it installs when run as root, and otherwise asks for)
# Both create the virtual environment on first use.
# And one for the floors in pyproject.toml:
#   make test-oldest   set up .venv-oldest from requirements-oldest.txt (the oldest
#                      torch/torchvision) and run the package tests and the notebooks
#                      there, without the book and the browser

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

OLDEST := .venv-oldest
OLDEST_BIN := $(OLDEST)/bin
OLDEST_STAMP := $(OLDEST)/.installed

# What a committed notebook keeps besides its cells: outputs, execution counts, the
# notebook's metadata and these cell metadata fields. nb-clean strips the rest (the
# per-cell execution timestamps `jupyter execute` writes, which make every re-run a
# diff of every cell). tests/test_notebook_metadata.py runs `nb-clean check` with them.
NB_CLEAN_FLAGS := --preserve-cell-outputs --preserve-execution-counts --preserve-notebook-metadata \
	--preserve-cell-metadata-field tags --preserve-cell-metadata-field mystnb \
	--preserve-cell-metadata-field jupyter --preserve-cell-metadata-field cellView

.PHONY: book test test-oldest setup clean notebooks-clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml aecourse/versioning.py
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

$(OLDEST_STAMP): requirements-oldest.txt pyproject.toml aecourse/versioning.py
	test -x $(OLDEST_BIN)/python || $(PYTHON) -m venv $(OLDEST)
	$(OLDEST_BIN)/python -m pip install --quiet --upgrade pip
	$(OLDEST_BIN)/python -m pip install --quiet -r requirements-oldest.txt
	$(OLDEST_BIN)/python -m pip install --quiet --no-deps -e .
	touch $(OLDEST_STAMP)

# The book's and the browser's tests need jupyter-book and Chromium, and the workflow linters
# (actionlint, zizmor) are tools of the repository, not of torch: the oldest set leaves them out.
test-oldest: $(OLDEST_STAMP)
	@test -n "$$AECOURSE_DATA" || { echo "make test-oldest: set AECOURSE_DATA to a folder holding MNIST/raw (tests never download). With a network: $(OLDEST_BIN)/python -m aecourse.data ./data && AECOURSE_DATA=./data make test-oldest"; exit 2; }
	$(OLDEST_BIN)/python -c "import torch, torchvision, numpy; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'numpy', numpy.__version__)"
	AECOURSE_DATA="$$(cd "$$AECOURSE_DATA" && pwd)" AECOURSE_FAST=1 $(OLDEST_BIN)/python -m pytest --nbval --nbval-current-env --nbval-cell-timeout=300 -p no:cacheprovider \
		--ignore=tests/test_book.py --ignore=tests/test_browser.py --ignore=tests/test_workflows.py tests notebooks/*.ipynb

# After `jupyter execute --inplace` and tools/make_student_notebooks.py, before committing.
notebooks-clean: $(STAMP)
	$(BIN)/nb-clean clean $(NB_CLEAN_FLAGS) notebooks

clean:
	rm -rf _build
