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
	--preserve-cell-metadata-field jupyter --preserve-cell-metadata-field cellView \
	--preserve-cell-metadata-field answers

.PHONY: book test test-oldest setup clean notebooks-clean run-notebook

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
