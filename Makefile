# README's two commands: `make demo` and `make test`. Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench proto clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m service.demo

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks.intake --events 20000 --json

# Regenerate the checked-in Pub/Sub stubs after editing proto/pubsub_api.proto.
proto: $(STAMP)
	$(BIN)/python -m grpc_tools.protoc -I . --python_out=. --pyi_out=. --grpc_python_out=. proto/pubsub_api.proto

# Salesforce's own source-to-Metadata-API conversion, as `sf project deploy start` runs it
# before a deploy (tools/metadata-check, pinned by its package-lock.json). .ci/run calls it
# before `make test`; tests/test_metadata_deploy.py uses the same install.
.PHONY: metadata-check
METADATA_CHECK := tools/metadata-check

$(METADATA_CHECK)/node_modules/.installed: $(METADATA_CHECK)/package.json $(METADATA_CHECK)/package-lock.json
	cd $(METADATA_CHECK) && npm ci --prefer-offline --no-audit --no-fund --loglevel=error
	touch $@

metadata-check: $(METADATA_CHECK)/node_modules/.installed
	SF_DISABLE_LOG_FILE=true node $(METADATA_CHECK)/convert.mjs salesforce build/metadata-check

clean:
	rm -rf $(VENV) build *.egg-info $(METADATA_CHECK)/node_modules
