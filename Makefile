# cloudmaint.openstack developer entry points. `make help` lists them.
# Tools always come from .venv/bin (created by `make venv`), never from PATH.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.stamp-requirements-dev
COLLECTION_LINK := .collections/ansible_collections/cloudmaint/openstack
# Sanity runs against one interpreter (the controller's); see the sanity target.
SANITY_PYTHON ?= 3.11
SANITY_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv sanity lint units sandbox sandbox-down integration molecule demo test clean bench bench-planner bench-campaign render-check test-faults chromium dirty-check

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# The stamp depends on the pinned requirements, so `make venv` is a no-op until
# tests/requirements-dev.txt changes (or the venv is removed).
$(STAMP): tests/requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r tests/requirements-dev.txt
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../.. $@

venv: $(STAMP) $(COLLECTION_LINK) ## Create .venv from tests/requirements-dev.txt and the .collections symlink

# --python: the controller's Python only (3.11); running every interpreter found
# on PATH multiplies the run time and depends on the machine.
# No --venv: ansible-test runs from .venv, which already has ansible-core's
# requirements; each sanity test still gets its own pinned venv, cached in
# ~/.ansible/test/venv, so --venv would only add a bootstrap per fresh .build.
# No test is skipped: they all run offline once scripts/ansible-test.sh has
# seeded the pip bootstrap script (sanity venvs install their pinned tools
# from PyPI on the first run and are cached in ~/.ansible/test/venv).
sanity: venv ## ansible-test sanity on the whole collection
	scripts/ansible-test.sh sanity --python $(SANITY_PYTHON) --color no $(SANITY_ARGS)

lint: venv ## ansible-lint (production profile, see .ansible-lint)
	PATH=$(CURDIR)/$(BIN):$$PATH ANSIBLE_CONFIG=$(CURDIR)/ansible.cfg $(BIN)/ansible-lint

# Every pytest run of `make test`: a test that collects nothing fails (pytest's exit 5 is kept),
# a skip in CI fails (tests/ci_guard.py), each test has a time budget (a hang is a failure with a
# stack, not a CI run past its limit), and the slowest tests and every skip reason are printed.
PYTEST_GUARDS := -p tests.ci_guard -rs --durations=25
UNIT_TIMEOUT ?= 300
INTEGRATION_TIMEOUT ?= 900
units: venv ## Unit tests (pytest tests/unit)
	PYTHONPATH=$(CURDIR)/.collections $(BIN)/python -m pytest tests/unit $(PYTEST_GUARDS) --timeout=$(UNIT_TIMEOUT) $(PYTEST_ARGS)

# ---- the sandbox cloud (real Keystone, Placement, Glance, Nova on 127.0.0.1; see sandbox/) ----
SANDBOX_ENV := OS_CLIENT_CONFIG_FILE=$(CURDIR)/.sandbox/clouds.yaml ANSIBLE_CONFIG=$(CURDIR)/ansible.cfg PATH=$(CURDIR)/$(BIN):$$PATH

sandbox: ## Install on first use, start and seed the sandbox cloud (idempotent)
	sandbox/cloudctl up
	sandbox/cloudctl seed

sandbox-down: ## Stop the sandbox cloud (its data is kept)
	sandbox/cloudctl down

# INTEGRATION=tests/integration/test_x.py runs one file.
INTEGRATION ?= tests/integration
integration: venv sandbox ## Integration tests against the sandbox cloud
	$(SANDBOX_ENV) $(BIN)/python -m pytest $(INTEGRATION) -p no:cacheprovider $(PYTEST_GUARDS) --timeout=$(INTEGRATION_TIMEOUT) $(PYTEST_ARGS)

molecule: venv sandbox chromium ## Molecule scenarios (delegated driver, local connection) against the sandbox
	$(SANDBOX_ENV) scripts/molecule-all.sh

demo: venv sandbox ## Set everything up and run rolling_patch.yml against the sandbox cloud
	$(SANDBOX_ENV) $(BIN)/ansible-playbook -i sandbox/inventory playbooks/rolling_patch.yml

test-faults: venv sandbox ## Only the fault-injection suite (tests/integration/test_faults.py) against the sandbox
	$(SANDBOX_ENV) $(BIN)/python -m pytest tests/integration/test_faults.py -p no:cacheprovider $(PYTEST_GUARDS) --timeout=$(INTEGRATION_TIMEOUT) $(PYTEST_ARGS)

# The unit tests' samples, and the plan of this run's sandbox (plan.yml, read-only): a page made from
# the cloud as it is now must show every host and every server.
RENDER_DIR := .build/render-check
chromium: # Debian's chromium, for the rendered reports (render-check, molecule rolling_patch's verify)
	command -v chromium >/dev/null || { test "$$(id -u)" -eq 0 && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

render-check: venv sandbox chromium ## Render campaign pages (samples and this sandbox's plan) in headless Chromium and check them
	rm -rf $(RENDER_DIR) && mkdir -p $(RENDER_DIR)
	RENDER_CHECK_DIR=$(RENDER_DIR)/samples scripts/render-check.sh
	$(SANDBOX_ENV) $(BIN)/ansible-playbook -i sandbox/inventory playbooks/plan.yml \
	  -e cloudmaint_campaign=render-check -e cloudmaint_report_dir=$(CURDIR)/$(RENDER_DIR) >$(RENDER_DIR)/plan.log
	RENDER_CHECK_DIR=$(RENDER_DIR)/plan scripts/render-check.sh \
	  $(RENDER_DIR)/render-check-plan.html=$(RENDER_DIR)/render-check-plan.json

# The suite owns its state: after tests/dirty leaves the cloud as badly as it can, the suites still pass.
dirty-check: venv sandbox ## Leave the sandbox dirty (tests/dirty), then run the integration suite and molecule
	$(SANDBOX_ENV) $(BIN)/python -m pytest tests/dirty -p no:cacheprovider $(PYTEST_GUARDS) --timeout=$(INTEGRATION_TIMEOUT)
	$(MAKE) integration molecule

test: sanity lint units render-check integration molecule ## Everything CI runs: sanity, lint, units, HTML render, integration, molecule

clean: ## Remove build and test output (keeps .venv)
	rm -rf .build tests/output .pytest_cache

BENCH_SIZES ?= 100x2000,1000x20000
bench: venv ## Inventory at scale on a generated fleet, ours vs openstack.cloud (BENCH_SIZES=100x2000,...)
	$(BIN)/python bench/inventory.py --sizes $(BENCH_SIZES) $(BENCH_ARGS)

bench-planner: venv ## The campaign planner on 1,000 hosts / 20,000 servers, against a scheduler-like baseline
	$(BIN)/python bench/planner.py

# BENCH_PROFILE=quick: the sandbox's short durations (~25 min) instead of production's (~70 min).
BENCH_PROFILE ?= production
bench-campaign: venv sandbox ## Rolling patch of the whole sandbox, ours vs a host-evacuate-live baseline, on BENCH_PROFILE
	$(SANDBOX_ENV) $(BIN)/python bench/campaign.py --profile $(BENCH_PROFILE)
