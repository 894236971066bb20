# berth.compose — one entry point for the demo, the tests and the benchmarks.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV       ?= .venv
PYTHON     ?= python3
BIN        := $(CURDIR)/$(VENV)/bin
COLL_ROOT  := $(CURDIR)/.build/collections
COLL_LINK  := $(COLL_ROOT)/ansible_collections/berth/compose
SCENARIO   ?=

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLL_ROOT)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv collection-link platform lint unit sanity molecule test demo demo-down demo-change bench-plan bench-cutover build clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed ## Create .venv with the pinned requirements

collection-link: ## Expose this checkout as the berth.compose collection
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(CURDIR) $(COLL_LINK)

platform: ## Start a Docker engine if none answers and build the cached test images
	tests/images/platform.sh

lint: venv collection-link ## yamllint + ansible-lint (production profile)
	tests/run.sh lint

unit: venv collection-link ## pytest unit tests
	tests/run.sh unit

sanity: venv ## ansible-test sanity on a copy under ansible_collections/berth/compose
	tests/run.sh sanity

molecule: venv collection-link platform ## Molecule scenarios (all, or SCENARIO=name)
	tests/run.sh molecule $(SCENARIO)

test: venv collection-link ## Everything: lint, unit, sanity, every Molecule scenario; prints counts
	tests/run.sh all

demo: venv collection-link platform ## A local VM container with the sample app running in it
	tests/demo.sh up

demo-change: ## After make demo: commit a one-line change to SERVICE=web|api|worker|migrate on the demo's git server
	@tests/demo.sh change "$${SERVICE:-}"

demo-down: ## Remove the demo VM container
	tests/demo.sh down

bench-plan: venv collection-link ## Benchmark: changed paths -> services mapping
	$(BIN)/python tests/bench/bench_plan.py

.PHONY: bench
bench: demo ## Benchmark: daily commands vs the bare commands on the demo VM over SSH (then bench-cutover)
	$(BIN)/python tests/bench/bench_ops.py
	@if $(MAKE) -n bench-cutover >/dev/null 2>&1; then $(MAKE) --no-print-directory bench-cutover; fi

bench-cutover: venv collection-link platform ## Benchmark: web-only deploy under load, zero downtime on vs off
	$(BIN)/python tests/bench/bench_cutover.py

build: venv ## Build the collection tarball
	$(BIN)/ansible-galaxy collection build --force .

clean: demo-down ## Remove the venv, build output and test containers (cached images stay)
	rm -rf $(VENV) .build tests/output berth-compose-*.tar.gz .pytest_cache
