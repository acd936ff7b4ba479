# Two commands on a fresh machine: `make run` (the demo end to end) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
PROGRAMME ?= lang-son
PERIOD ?= 2026-H1

# Airflow home inside the repo (git-ignored), SQLite metadata, this repo's DAGs and plugins.
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
# as in docker-compose.yaml: a new DAG runs on its schedule without being unpaused by hand
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION := False
export AIRFLOW__CORE__PARALLELISM := 4
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN ?= sqlite:///$(CURDIR)/.airflow/airflow.db
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS ?= admin:admin
export AIRFLOW__LOGGING__LOGGING_LEVEL ?= INFO
export GX_ANALYTICS_ENABLED := False
export PATH := $(BIN):$(PATH)

.PHONY: help venv run preview airflow airflow-cli test test-unit test-integration lint bench clean

help:
	@echo "make run      the demo period end to end through Airflow (SQLite, local bucket)"
	@echo "make test     the whole test suite: the unit lane, then the integration lane"
	@echo "make test-unit         the unit lane only (no services, about a minute)"
	@echo "make test-integration  the integration lane only (PostgreSQL, Airflow, servers)"
	@echo "make preview  the demo's report, annexes and a blank form as PDF and PNG pages"
	@echo "make airflow  airflow standalone on the same home, DAGs unpaused: http://localhost:8080"
	@echo "make airflow-cli ARGS=\"dags list\"   the Airflow CLI on the same home"
	@echo "make lint     ruff (code and DAGs)"
	@echo "make bench    benchmarks (see bench/README.md)"

$(BIN)/.installed: requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-c requirements.txt -e '.[airflow,celery,test,dev]'
	@touch $@

venv: $(BIN)/.installed

$(AIRFLOW_HOME)/airflow.db: $(BIN)/.installed
	@mkdir -p $(AIRFLOW_HOME)
	airflow db migrate > $(AIRFLOW_HOME)/db-migrate.log 2>&1 || (cat $(AIRFLOW_HOME)/db-migrate.log; exit 1)

run: venv $(AIRFLOW_HOME)/airflow.db
	@# a var/bucket of before the split by programme: its folders move under $(PROGRAMME)/
	@baocao move-old-layout --programme $(PROGRAMME) --quiet || true
	baocao migrate --programme $(PROGRAMME)
	baocao forms --programme $(PROGRAMME) --period $(PERIOD)
	baocao demo --programme $(PROGRAMME) --period $(PERIOD)
	airflow dags test baocao_intake --conf '{"programme": "$(PROGRAMME)"}' > $(AIRFLOW_HOME)/intake.log 2>&1 \
		|| (tail -n 60 $(AIRFLOW_HOME)/intake.log; exit 1)
	@grep -E "intake $(PROGRAMME): \{" $(AIRFLOW_HOME)/intake.log | sed -E 's/.*(intake $(PROGRAMME): [^[]*).*/\1/' || true
	airflow dags test baocao_reports --conf '{"programme": "$(PROGRAMME)", "period": "$(PERIOD)"}' \
		> $(AIRFLOW_HOME)/reports.log 2>&1 || (tail -n 60 $(AIRFLOW_HOME)/reports.log; exit 1)
	baocao status --programme $(PROGRAMME) --period $(PERIOD) | tail -n 1
	baocao outputs --programme $(PROGRAMME) --period $(PERIOD)

# What officials and clerks receive, as LibreOffice prints it: var/preview/*.pdf, pages/*.png
preview: venv $(AIRFLOW_HOME)/airflow.db
	bash scripts/ensure-libreoffice.sh
	@test -f var/warehouse.sqlite || $(MAKE) --no-print-directory run
	baocao preview --programme $(PROGRAMME) --period $(PERIOD) --out var/preview

# The DAGs start unpaused (new ones by the setting above; ones a former `make airflow` left
# paused are unpaused here), so a file dropped in the bucket is answered within seconds.
airflow: venv $(AIRFLOW_HOME)/airflow.db
	@airflow dags unpause --treat-dag-id-as-regex -y '^baocao_' > /dev/null 2>&1 || true
	@echo "UI: http://localhost:8080 — user admin, password in $(AIRFLOW_HOME)/simple_auth_manager_passwords.json.generated"
	airflow standalone

# The Airflow CLI against this repository's Airflow home, e.g.
#   make airflow-cli ARGS="dags list"      make airflow-cli ARGS="dags trigger baocao_intake"
airflow-cli: venv $(AIRFLOW_HOME)/airflow.db
	airflow $(ARGS)

# Two lanes (tests/conftest.py): unit first (in-process, no services, about a minute), then
# integration (PostgreSQL, Airflow runs, servers, LibreOffice, Chromium, moto; 10+ minutes).
# Every test outside tests/unit is in the integration lane.
test: venv
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-integration

test-unit: venv
	$(BIN)/python -m pytest -q tests/unit $(PYTEST_ARGS)

test-integration: venv
	$(BIN)/python -m pytest -q tests --ignore=tests/unit $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check plugins dags tests bench
	$(BIN)/ruff check --select AIR3 dags

bench: venv
	$(BIN)/python bench/warehouse.py

clean:
	rm -rf var .airflow
