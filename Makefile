# Valueloop: the README's commands. `make run` serves the demo; `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PORT ?= 8000
HOST ?= 127.0.0.1
export VALUELOOP_DATA_DIR ?= $(CURDIR)/data
UV_VERSION := 0.13.9
VENV := .venv
UV := .tools/bin/uv
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
CHROMIUM := /usr/lib/chromium/chromium
ORACLE_JS := tests/oracles/js
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_LINK_MODE := copy
export UV_NO_PROGRESS := 1

.PHONY: help install install-dev run demo test lint check-deploy pytest pytest-postgres browser oracles bench clean

help:
	@echo "make run    install, migrate, load the demo workspace and serve at http://$(HOST):$(PORT)"
	@echo "make test   install test tools and run lint, import contracts, deploy checks and the test suite"
	@echo "make bench  run the benchmarks under bench/"

$(UV):
	@PY="$$(scripts/find-python.sh)" || exit 1; \
	echo "Using $$PY to bootstrap uv $(UV_VERSION) in .tools/"; \
	"$$PY" -m venv .tools && .tools/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# The locked runtime dependencies (uv.lock); --inexact keeps test tools if they are there.
install: $(UV)
	@PY="$$(scripts/find-python.sh)" || exit 1; \
	$(UV) sync --frozen --no-dev --inexact --python "$$PY" --quiet

install-dev: $(UV)
	@PY="$$(scripts/find-python.sh)" || exit 1; \
	$(UV) sync --frozen --python "$$PY" --quiet

run: install
	@VALUELOOP_MODE=local $(VENV)/bin/valueloop demo
	@echo ""
	@echo "  Valueloop: http://$(HOST):$(PORT)/   sign in as ada@demo.valueloop.example / valueloop-demo (admin)"
	@echo "  (every demo login above uses the same password; data lives in $(VALUELOOP_DATA_DIR))"
	@echo ""
	@VALUELOOP_MODE=local exec $(VENV)/bin/valueloop serve --host $(HOST) --port $(PORT) --no-migrate

demo: install
	VALUELOOP_MODE=local $(VENV)/bin/valueloop demo $(ARGS)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi

# Reference implementations the differential tests compare against: GrowthBook's JS SDK (the version pinned
# in $(ORACLE_JS)/package-lock.json), installed with `npm ci` when node_modules is missing or older than the
# lockfile. Without node/npm the tests skip locally; under CI (CI set) that is an error.
oracles: $(ORACLE_JS)/node_modules/.package-lock.json

$(ORACLE_JS)/node_modules/.package-lock.json: $(ORACLE_JS)/package.json $(ORACLE_JS)/package-lock.json
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  echo "node and npm are needed for the flag-evaluation oracle ($(ORACLE_JS)): install Node.js (Debian: apt-get install nodejs npm)"; \
	  if [ -n "$${CI:-}" ]; then exit 1; fi; \
	  echo "Continuing without it: the differential tests will be skipped."; \
	else \
	  echo "Installing the JS SDK oracle in $(ORACLE_JS) (npm ci)"; \
	  cd $(ORACLE_JS) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.package-lock.json; \
	fi

lint: install-dev
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports

check-deploy: install-dev
	@tmp=$$(mktemp -d); \
	VALUELOOP_MODE=production VALUELOOP_DATA_DIR=$$tmp VALUELOOP_ALLOWED_HOSTS=valueloop.example.com \
	VALUELOOP_SECRET_KEY="$$($(VENV)/bin/python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
	$(VENV)/bin/valueloop manage check --deploy --fail-level WARNING; status=$$?; rm -rf $$tmp; exit $$status

pytest: install-dev browser oracles
	env -u DATABASE_URL VALUELOOP_MODE=test $(VENV)/bin/pytest -q -n 2

# PostgreSQL run: always when CI is set (an unreachable server then fails the run), or when
# DATABASE_URL names Postgres.
pytest-postgres: install-dev oracles
	@url="$${DATABASE_URL:-}"; \
	if [ -z "$${CI:-}" ] && [[ "$$url" != postgres* ]]; then echo "PostgreSQL run skipped (set CI or DATABASE_URL=postgres://...)"; exit 0; fi; \
	[[ "$$url" == postgres* ]] || url="$(PG_TEST_URL)"; \
	$(VENV)/bin/python -c "import psycopg,sys; from urllib.parse import urlsplit; u=urlsplit(sys.argv[1]); psycopg.connect(host=u.hostname, port=u.port or 5432, user=u.username, password=u.password, dbname=u.path.lstrip('/'), connect_timeout=5).close()" "$$url" \
	  || { echo "PostgreSQL at $$url is not reachable"; exit 1; }; \
	echo "Running the suite on PostgreSQL ($$url)"; \
	DATABASE_URL="$$url" VALUELOOP_MODE=test VALUELOOP_SCHEMATHESIS_EXAMPLES=10 $(VENV)/bin/pytest -q -n 2 -m "not e2e"

test: lint check-deploy pytest pytest-postgres

bench: install-dev
	@for script in bench/*.py; do echo "== $$script"; $(VENV)/bin/python $$script || exit 1; done

clean:
	rm -rf .tools $(VENV) .pytest_cache .ruff_cache $(ORACLE_JS)/node_modules
