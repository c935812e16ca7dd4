# One gate: `make test` sets up, lints, type-checks and runs every test. `.ci/run` calls it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

# Front-end packages (the widget, the admin SPA) are installed wherever a package.json exists.
NODE_DIRS := $(patsubst %/package.json,%,$(wildcard widget/package.json admin/package.json))
NODE_STAMPS := $(addsuffix /node_modules/.installed,$(NODE_DIRS))

WIDGET_JS := widget/dist/widget.js
ADMIN_INDEX := admin/dist/index.html
OPENAPI_TS := admin/node_modules/.bin/openapi-typescript

.PHONY: setup browser widget admin api-types api-types-check dev test lint format unit integration e2e bench-coldstart bench-relay bench-widget sam-build clean

setup: $(STAMP) $(NODE_STAMPS)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

%/node_modules/.installed: %/package.json %/package-lock.json
	cd $* && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The embeddable widget: one file, rebuilt when its sources change.
widget: $(WIDGET_JS)

$(WIDGET_JS): widget/node_modules/.installed widget/build.mjs $(wildcard widget/src/*.ts)
	cd widget && node build.mjs

# The admin SPA (served at /admin/): rebuilt when its sources change.
admin: $(ADMIN_INDEX)

$(ADMIN_INDEX): admin/node_modules/.installed admin/vite.config.ts admin/index.html admin/tsconfig.json $(shell find admin/src -type f 2>/dev/null)
	cd admin && node_modules/.bin/vite build --logLevel warn
	@touch $@

# TypeScript types of every request and response, from the OpenAPI of the functions' routers:
# admin/src/api/types.ts (every route) and widget/src/api-types.ts (the visitor-facing routes).
# $(1): the directory the documents and the two generated files are written to.
define generate_api_types
	$(BIN)/python -W ignore -m scripts.openapi $(1)/openapi.json
	$(BIN)/python -W ignore -m scripts.openapi --public $(1)/openapi-public.json
	$(OPENAPI_TS) $(1)/openapi.json -o $(1)/types.ts
	$(OPENAPI_TS) $(1)/openapi-public.json -o $(1)/api-types.ts
endef

api-types: setup
	$(call generate_api_types,build/api-types)
	cp build/api-types/types.ts admin/src/api/types.ts
	cp build/api-types/api-types.ts widget/src/api-types.ts

# Fails when an API change was not followed by `make api-types`.
api-types-check: setup
	@rm -rf build/api-types-check
	$(call generate_api_types,build/api-types-check)
	@diff -u admin/src/api/types.ts build/api-types-check/types.ts \
	  && diff -u widget/src/api-types.ts build/api-types-check/api-types.ts \
	  || { echo "the generated API types are out of date: run 'make api-types' and commit them"; exit 1; }

dev: setup widget admin
	$(BIN)/python -m scripts.dev

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml
	$(BIN)/sam validate --lint --region us-east-1 --template-file template.yaml
	cd widget && node_modules/.bin/tsc --noEmit
	cd admin && node_modules/.bin/tsc --noEmit
	$(MAKE) --no-print-directory api-types-check

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Debian's Chromium for the browser tests: installed when missing and we may, else one line saying how.
browser:
	@bash scripts/ensure_chromium.sh

# Browser tests run in their own pytest process: Playwright's sync API keeps an event loop running
# for the whole session, which the async database tests cannot share a process with.
test: browser lint widget admin
	cd widget && node_modules/.bin/vitest run
	$(BIN)/pytest -n auto --ignore=tests/e2e $(PYTEST_ARGS)
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

unit: setup widget admin
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: setup
	$(BIN)/pytest -n auto tests/integration $(PYTEST_ARGS)

e2e: browser setup widget admin
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

bench-coldstart: setup
	$(BIN)/python -m scripts.bench.coldstart

bench-relay: setup
	$(BIN)/python -m scripts.bench.relay

bench-widget: setup widget
	$(BIN)/python -m scripts.bench.widget

# Builds the Lambda artefacts (needs PyPI for the arm64 wheels; no Docker).
sam-build: setup
	$(BIN)/sam build --template-file template.yaml --build-dir .aws-sam/build

clean:
	rm -rf .aws-sam .mypy_cache .ruff_cache .pytest_cache
