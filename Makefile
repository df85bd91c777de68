# make book  — build the whole book (executes every chapter) into _build/html
# make test  — run annlib's test suite
# make clean — remove the build, its caches and the virtual environment
# Each target creates .venv with the Python found as $(PYTHON) (3.10 or newer) and installs what it needs.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JB_FLAGS ?= -W -n --keep-going

.PHONY: book test data clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10) and "annlib needs Python 3.10 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -c constraints.txt -e ".[book,test]"
	touch $(STAMP)

data: $(STAMP)
	$(BIN)/python -m annlib.data

book: data
	$(BIN)/jupyter-book build book $(JB_FLAGS)
	@echo "Open _build/html/index.html in a browser."

test: $(STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf _build $(VENV)
