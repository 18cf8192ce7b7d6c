# embedweave: two commands do all set-up on a fresh machine.
#   make demo   - set up, then run the main example end to end
#   make test   - set up, then run every test against a real Weaviate and real models
SHELL := /bin/bash
PYTHON_VERSION ?= 3.11
VENV := .venv
PY := $(VENV)/bin/python
UV := python3 -m uv
WEAVIATE_VERSION := 1.38.11
CACHE := $(or $(EMBEDWEAVE_CACHE_DIR),$(HOME)/.cache/embedweave)
WEAVIATE_BIN := $(CACHE)/weaviate/v$(WEAVIATE_VERSION)/bin/weaviate-server
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test lint typecheck bench-hnsw clean

setup: $(VENV)/.synced $(WEAVIATE_BIN)

# uv is pinned; installed with the machine's pip if missing. Files are hard-linked from uv's
# cache, so torch's ~6 GB is on disk once, not twice (uv copies where it cannot link).
# llama-index-core alone is copied: it ships nltk data, and nltk refuses hard-linked files.
$(VENV)/.synced: pyproject.toml uv.lock integrations/llama-index/pyproject.toml integrations/langchain/pyproject.toml
	@python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv==0.13.8"
	$(UV) sync --frozen --all-packages --python $(PYTHON_VERSION) --link-mode hardlink
	$(UV) sync --frozen --all-packages --python $(PYTHON_VERSION) --link-mode copy --reinstall-package llama-index-core
	@touch $@

# The Weaviate server is built from its pinned Go module into the user cache (once per machine).
# Its modules and build cache (~3.5 GB) go to a scratch dir removed afterwards: only the
# binary is kept, and the user's own Go caches are left as they were.
$(WEAVIATE_BIN):
	mkdir -p $(dir $@)
	scratch=$$(mktemp -d "$(CACHE)/weaviate/build.XXXXXX") && \
	trap 'rm -rf "$$scratch"' EXIT && \
	CGO_ENABLED=0 GOFLAGS=-modcacherw GOMODCACHE="$$scratch/mod" GOCACHE="$$scratch/cache" \
	GOBIN=$(abspath $(dir $@)) go install github.com/weaviate/weaviate/cmd/weaviate-server@v$(WEAVIATE_VERSION)

demo: setup
	$(PY) examples/llama_index_rag.py

test: setup lint typecheck
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check src integrations tests benchmarks examples

typecheck: setup
	$(VENV)/bin/mypy
	cd integrations/llama-index && MYPYPATH=. ../../$(VENV)/bin/mypy --namespace-packages \
		--explicit-package-bases --ignore-missing-imports \
		-p llama_index.embeddings.embedweave -p llama_index.postprocessor.embedweave_rerank \
		-p llama_index.vector_stores.embedweave -p llama_index.retrievers.embedweave
	cd integrations/langchain && ../../$(VENV)/bin/mypy --ignore-missing-imports langchain_embedweave

bench-hnsw: setup
	$(PY) benchmarks/hnsw_recall.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
