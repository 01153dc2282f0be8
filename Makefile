# What humans type. `make run` and `make test` work on a fresh clone with nothing
# installed by hand: they create .venv and install the package into it.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
TEST_INSTALLED := $(VENV)/.installed-test
DEPS := setup.py pyproject.toml

.PHONY: run test bench lint install clean vendor

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): $(BIN)/python $(DEPS)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(TEST_INSTALLED): $(BIN)/python $(DEPS)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(INSTALLED)

install: $(INSTALLED)

# The demo binds 127.0.0.1 as store `demo`; `ROBODINE_HOST=0.0.0.0 make run` opens it to the LAN.
run: $(INSTALLED)
	$(BIN)/robodine-edge run --demo $(ARGS)

# Tests run in JOBS parallel workers: most of their time is spent waiting on real
# processes and sockets, so three workers fit two cores.
JOBS ?= 3

test: $(TEST_INSTALLED)
	$(BIN)/python -m pytest -n $(JOBS) $(PYTEST_ARGS)

# wrk (Debian's package) is the load generator; installed here, not mid-measurement.
bench: $(TEST_INSTALLED)
	command -v wrk >/dev/null || apt-get install -y -q wrk || sudo -n apt-get install -y -q wrk
	$(BIN)/python -m bench $(ARGS)
	$(BIN)/python -m bench.hq

lint: $(TEST_INSTALLED)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[lint]'
	$(BIN)/ruff check robodine_edge actors tests bench

# The pages' third-party files, from the npm registry, checked against their pins
# (robodine_edge/web/vendor.toml). They are committed: nothing is fetched at run time.
vendor: $(INSTALLED)
	$(BIN)/python -m robodine_edge.web.vendor --fetch

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis var
