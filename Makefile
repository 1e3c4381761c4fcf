# The two commands of the README: `make run` (the server and the webhook worker) and `make test`. Both
# install what they need.
# `make serve` runs the production server (granian, config/serve.py) locally.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
DEV_ENV := DJANGO_DEBUG=true LATCHKEY_OUTBOUND_ALLOW_PRIVATE=true LATCHKEY_REGISTRATION="$${LATCHKEY_REGISTRATION:-open}"
HOST ?= 127.0.0.1
PORT ?= 8000

# `make serve`: production settings (DEBUG off, JSON logs, WhiteNoise, granian) on this machine over
# plain http. The fixed development secret key is for this local server only: production sets its own.
# Ctrl-C stops it within 5 s: granian 2.8.9's workers, given the terminal's SIGINT and the server's SIGTERM
# at once, wait for the kill timeout (LATCHKEY_GRACEFUL_TIMEOUT) instead of stopping on their own.
SERVE_ENV := DJANGO_DEBUG=false \
	DJANGO_SECRET_KEY="$${DJANGO_SECRET_KEY:-latchkey-insecure-development-key-never-use-in-production}" \
	DJANGO_SESSION_COOKIE_SECURE=false DJANGO_CSRF_COOKIE_SECURE=false \
	LATCHKEY_BIND="$${LATCHKEY_BIND:-$(HOST):$(PORT)}" \
	LATCHKEY_GRACEFUL_TIMEOUT="$${LATCHKEY_GRACEFUL_TIMEOUT:-5}"

.PHONY: run serve test install lint format migrate seed clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

migrate: install
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput

seed: migrate
	$(DEV_ENV) $(BIN)/python manage.py seed_demo

# The webhook worker runs beside the server and is stopped when the server stops (Ctrl-C included).
run: seed
	@echo "Latchkey is starting on http://$(HOST):$(PORT)/  (admin console: http://$(HOST):$(PORT)/admin/)"
	@$(DEV_ENV) $(BIN)/python manage.py events worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(DEV_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

serve: install
	$(SERVE_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(SERVE_ENV) $(BIN)/python manage.py migrate --noinput
	@echo "Latchkey (granian) is starting on http://$(HOST):$(PORT)/  (health: /healthz, /readyz)"
	$(SERVE_ENV) $(BIN)/python -m config.serve

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Latchkey and vanilla django-oauth-toolkit under wrk on PostgreSQL (docs/benchmarks.md).
# BENCH_DURATION=10 BENCH_ROUNDS=1 BENCH_SMOKE=1 BENCH_SERVERS=gunicorn,granian BENCH_STORED_TOKENS=10000:
# see bench/run.py.
bench: install
	$(BIN)/python bench/run.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache .ruff_cache
