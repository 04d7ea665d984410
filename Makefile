# The two commands of the README's quick start:
#   make book    set up .venv and build the book into _build/html
#   make test    set up .venv, build the book, and run every test: nbval on the
#                notebooks, and the built pages opened in Debian's Chromium (which
#                it installs when run as root, and otherwise asks for)
# Both create the virtual environment on first use.
# With no AECOURSE_DATA, the tests read MNIST from the reader's cache, which
# `python -m aecourse.data --for-tests` fills once when online (the tests never download).
# And two for the versions around the pins:
#   make test-oldest   set up .venv-oldest from requirements-oldest.txt (the oldest
#                      torch/torchvision) and run the package tests and the notebooks
#                      there, without the book and the browser
#   make test-colab    set up .venv-colab (Python 3.13) from requirements-colab.txt (Colab's
#                      own versions), install aecourse as Colab's install cell does (a built
#                      wheel, --no-deps), and run the package tests and the student's path:
#                      the Colab solved versions and the completed exercise versions

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

OLDEST := .venv-oldest
OLDEST_BIN := $(OLDEST)/bin
OLDEST_STAMP := $(OLDEST)/.installed

# Colab's Python (requirements-colab.txt says which); pyenv's python3.13 here, setup-python's in CI.
COLAB_PYTHON ?= python3.13
COLAB := .venv-colab
COLAB_BIN := $(COLAB)/bin
COLAB_STAMP := $(COLAB)/.installed
COLAB_WHEELS := $(COLAB)/wheel

# The MNIST folder the tests read: AECOURSE_DATA's (checked), else the reader's cache, where
# MNIST is fetched once when online; offline, one message says what to do. $(call MNIST,python)
MNIST = data="$$($(1) -m aecourse.data --for-tests)" || exit 2
# The tests that need neither the book (Sphinx: test_book.py, and test_chapter_frame.py, which
# reads the chapters through the book's own extension), the browser nor the workflow linters.
PACKAGE_TESTS := --ignore=tests/test_book.py --ignore=tests/test_chapter_frame.py \
	--ignore=tests/test_browser.py --ignore=tests/test_workflows.py tests

# What a committed notebook keeps besides its cells: outputs, execution counts, the
# notebook's metadata and these cell metadata fields. nb-clean strips the rest (the
# per-cell execution timestamps `jupyter execute` writes, which make every re-run a
# diff of every cell). tests/test_notebook_metadata.py runs `nb-clean check` with them.
NB_CLEAN_FLAGS := --preserve-cell-outputs --preserve-execution-counts --preserve-notebook-metadata \
	--preserve-cell-metadata-field tags --preserve-cell-metadata-field mystnb \
	--preserve-cell-metadata-field jupyter --preserve-cell-metadata-field cellView \
	--preserve-cell-metadata-field answers

.PHONY: book test test-oldest test-colab setup clean notebooks-clean run-notebook

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
	@$(call MNIST,$(BIN)/python); echo "MNIST for the tests: $$data"
	@tools/ensure_chromium.sh
	$(MAKE) --no-print-directory book
	@$(call MNIST,$(BIN)/python); set -x; \
	AECOURSE_DATA="$$data" AECOURSE_FAST=1 $(BIN)/python -m pytest --nbval --nbval-current-env --nbval-cell-timeout=300 -p no:cacheprovider

$(OLDEST_STAMP): requirements-oldest.txt pyproject.toml aecourse/versioning.py
	test -x $(OLDEST_BIN)/python || $(PYTHON) -m venv $(OLDEST)
	$(OLDEST_BIN)/python -m pip install --quiet --upgrade pip
	$(OLDEST_BIN)/python -m pip install --quiet -r requirements-oldest.txt
	$(OLDEST_BIN)/python -m pip install --quiet --no-deps -e .
	touch $(OLDEST_STAMP)

# The book's and the browser's tests need jupyter-book and Chromium, and the workflow linters
# (actionlint, zizmor) are tools of the repository, not of torch: the oldest set leaves them out.
test-oldest: $(OLDEST_STAMP)
	$(OLDEST_BIN)/python -c "import torch, torchvision, numpy; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'numpy', numpy.__version__)"
	@$(call MNIST,$(OLDEST_BIN)/python); set -x; \
	AECOURSE_DATA="$$data" AECOURSE_FAST=1 $(OLDEST_BIN)/python -m pytest --nbval --nbval-current-env --nbval-cell-timeout=300 -p no:cacheprovider \
		--ignore=tests/test_book.py --ignore=tests/test_browser.py --ignore=tests/test_workflows.py tests notebooks/*.ipynb

# Colab's versions (requirements-colab.txt) on Colab's Python. aecourse goes in as the
# install cell puts it in Colab: a wheel built from this tree, --no-deps, not editable; and
# python -P keeps this folder off sys.path, so that the tests import the installed wheel.
# The student's path (tests/test_student_path.py, among the package tests) runs the Colab
# solved versions and the completed exercise versions of every chapter in fast mode.
$(COLAB_STAMP): requirements-colab.txt
	test -x $(COLAB_BIN)/python || $(COLAB_PYTHON) -m venv $(COLAB)
	$(COLAB_BIN)/python -c "import sys; v = sys.version_info[:2]; assert v == (3, 13), f'.venv-colab needs Colab\'s Python 3.13, not {v}: make test-colab COLAB_PYTHON=/path/to/python3.13'"
	$(COLAB_BIN)/python -m pip install --quiet -r requirements-colab.txt
	touch $(COLAB_STAMP)

test-colab: $(COLAB_STAMP)
	rm -rf $(COLAB_WHEELS)
	$(COLAB_BIN)/python -m pip wheel --quiet --no-deps --wheel-dir $(COLAB_WHEELS) .
	$(COLAB_BIN)/python -m pip install --quiet --force-reinstall --no-deps $(COLAB_WHEELS)/aecourse-*.whl
	$(COLAB_BIN)/python -P tools/colab_pins.py --installed
	@$(call MNIST,$(COLAB_BIN)/python -P); set -x; \
	AECOURSE_DATA="$$data" AECOURSE_FAST=1 $(COLAB_BIN)/python -P -m pytest -p no:cacheprovider $(PACKAGE_TESTS)

# Re-run one chapter and store its outputs: make run-notebook NB=notebooks/02_deep_autoencoder.ipynb
# (with AECOURSE_DATA set). tools/run_notebook.py runs it as `jupyter execute --inplace` does, but with
# nbclient's coalesce_streams, so each text progress bar is stored as its final line only (the
# `jupyter execute` command line accepts --NotebookClient.coalesce_streams=True but ignores it). Then the
# student and Colab versions are regenerated and the execution timestamps stripped.
run-notebook: $(STAMP)
	@test -n "$(NB)" || { echo "make run-notebook: name the notebook, e.g. make run-notebook NB=notebooks/02_deep_autoencoder.ipynb"; exit 2; }
	@test -f "$(NB)" || { echo "make run-notebook: no notebook $(NB)"; exit 2; }
	@test -n "$$AECOURSE_DATA" || { echo "make run-notebook: set AECOURSE_DATA to a folder holding MNIST/raw, e.g. AECOURSE_DATA=../shared/data make run-notebook NB=$(NB)"; exit 2; }
	AECOURSE_DATA="$$(cd "$$AECOURSE_DATA" && pwd)" $(BIN)/python tools/run_notebook.py "$(NB)"
	$(BIN)/python tools/make_student_notebooks.py
	$(MAKE) --no-print-directory notebooks-clean

# After a notebook is re-run (make run-notebook does this for you), before committing.
notebooks-clean: $(STAMP)
	$(BIN)/nb-clean clean $(NB_CLEAN_FLAGS) notebooks

clean:
	rm -rf _build
