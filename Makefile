# Hotline — two commands: `make run` (the whole platform with demo data) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings.local

.PHONY: run setup demo makemessages test test-sqlite test-postgres lint fmt vendor messages lock services-stop clean \
	bench-workorders bench-acd bench-sip bench-mixer bench-player bench-reports

## run: set up everything and start every process with demo data (SQLite, in-process layers)
run: setup demo
	@$(MANAGE) banner --url http://$(HOST):$(PORT)/
	HOST=$(HOST) PORT=$(PORT) $(VENV)/bin/honcho start

## setup: virtualenv, Python and npm dependencies, static libraries, translations, database
setup: $(VENV)/.installed node_modules/.installed vendor messages
	@scripts/system-deps.sh run
	@mkdir -p var
	$(MANAGE) migrate --noinput -v 0

demo: setup
	$(MANAGE) setup_demo

$(VENV)/.installed: requirements.lock requirements-dev.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.lock
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

VENDOR := hotline/static/vendor
vendor: node_modules/.installed
	@mkdir -p $(VENDOR)
	@cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx.min.js
	@cp node_modules/alpinejs/dist/cdn.min.js $(VENDOR)/alpine.min.js
	@cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts.min.js

messages: $(VENV)/.installed
	@$(PY) -m hotline.core.compile_messages

## makemessages: collect new strings into the zh_Hans catalogue (then translate; check every
## "fuzzy" guess by hand — makemessages' guesses from similar strings are often wrong)
makemessages: $(VENV)/.installed
	$(MANAGE) makemessages -l zh_Hans --ignore=.venv --ignore=node_modules --ignore=build --ignore=staticfiles

## test: lint, migration check and the whole suite on SQLite, then on PostgreSQL (with Redis)
test: setup
	scripts/system-deps.sh test
	$(MAKE) lint
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DJANGO_SETTINGS_MODULE=config.settings.test $(MANAGE) makemigrations --check --dry-run
	$(VENV)/bin/mypy hotline config

test-sqlite: setup
	eval "$$(scripts/test-services.sh start)"; unset DATABASE_URL; \
	HOTLINE_EXPECT_DB=sqlite DJANGO_SETTINGS_MODULE=config.settings.test $(VENV)/bin/pytest $(PYTEST_ARGS)

test-postgres: setup
	eval "$$(scripts/test-services.sh start)"; \
	HOTLINE_EXPECT_DB=postgresql DJANGO_SETTINGS_MODULE=config.settings.test $(VENV)/bin/pytest $(PYTEST_ARGS)

services-stop:
	scripts/test-services.sh stop

## bench-reports: every standard report and dashboard query over 1,000,000 orders and 5,000,000 calls
## on PostgreSQL, and their figures against raw counts (about an hour; not part of `make test`)
## -> bench/results/reports.json
bench-reports: $(VENV)/.installed messages
	eval "$$(scripts/test-services.sh start)"; \
	$(PY) bench/reports.py $(BENCH_ARGS)

## bench-workorders: intake, API, inbox and deadline-scan figures over 1,000,000 orders on SQLite and
## PostgreSQL (about 15 minutes; not part of `make test`) -> bench/results/workorders.json
bench-workorders: $(VENV)/.installed messages
	eval "$$(scripts/test-services.sh start)"; \
	$(PY) bench/workorders.py $(BENCH_ARGS)

## bench-acd: the contact-centre engine against Erlang C, routing cost with 2,000 agents and 10,000
## waiting calls, a simulated day of 65,000 calls (about 20 minutes) -> bench/results/acd.json
bench-acd: $(VENV)/.installed
	$(PY) bench/acd.py $(BENCH_ARGS)

## bench-sip: the SIP switch with rtpengine and sipp: concurrent calls and set-ups per second through
## IVR, queue and bridge with recording, ramped to the first failure (about 15 minutes; BENCH_ARGS=--quick:
## two minutes) -> bench/results/sip.json
bench-sip: $(VENV)/.installed messages
	$(PY) bench/sip.py $(BENCH_ARGS)

## bench-mixer: the switch's audio mixer alone: CPU and tick overruns for 10 to 100 rooms of three
## (about 4 minutes) -> bench/results/mixer.json
bench-mixer: $(VENV)/.installed
	$(PY) bench/mixer.py $(BENCH_ARGS)

## bench-player: what one rtpengine `play media` costs and how evenly it sends the prompt, for the
## library's WAV and for the A-law file the switch plays (about a minute) -> bench/results/player.json
bench-player: $(VENV)/.installed
	$(PY) bench/player.py $(BENCH_ARGS)

fmt: $(VENV)/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## lock: re-resolve requirements.lock (runtime) and requirements-dev.lock (runtime + dev) from pyproject
lock:
	scripts/lock.sh

clean:
	rm -rf $(VENV) node_modules $(VENDOR) staticfiles
