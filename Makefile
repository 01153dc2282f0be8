# What humans type. `make run` and `make test` work on a fresh clone with nothing
# installed by hand: they create .venv and install the package into it.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
TEST_INSTALLED := $(VENV)/.installed-test
LINT_INSTALLED := $(VENV)/.installed-lint
DEPS := setup.py pyproject.toml

# Bytecode lives under .venv/pycache. Some machines (the dev VMs among them) set
# PYTHONDONTWRITEBYTECODE, and then every process compiled the package from source
# again: ~1.1 s of CPU per service, simulator or CLI started (the suite starts ~300),
# and each test worker rewrote every test module's asserts (collection 6.8 s, 2.6 s
# with the cache). Under .venv the checkout stays clean and `make clean` takes it.
# Only what runs the checkout's code gets it: never pip, nor `make install`.
CACHED := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/$(VENV)/pycache

.PHONY: venv run test test-slow bench bench-federation soak lint install uninstall clean vendor

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): $(BIN)/python $(DEPS)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(TEST_INSTALLED): $(BIN)/python $(DEPS)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(INSTALLED)

# The checkout's own venv, as `make run` makes it (`.venv/bin/robodine-edge`).
venv: $(INSTALLED)

# The demo binds 127.0.0.1 as store `demo`; `ROBODINE_HOST=0.0.0.0 make run` opens it to the LAN.
run: $(INSTALLED)
	$(CACHED) $(BIN)/robodine-edge run --demo $(ARGS)

# Tests run in JOBS parallel workers: most of their time is spent waiting on real
# processes, sockets and the protocol's own timers, so four workers fit two cores
# (4:43-4:48 on the dev VM, CPU ~75 % busy; three took 6:20, five 4:55-5:01 with the
# CPU saturated, where timing-sensitive tests begin to fail). A worker that runs out of
# tests takes some from another's queue (worksteal), so the longest tests do not end
# the run on one worker while the others wait.
JOBS ?= 4

test: $(TEST_INSTALLED)
	$(CACHED) $(BIN)/python -m pytest -n $(JOBS) --dist worksteal -m "not slow" $(PYTEST_ARGS)

# The tests marked slow: `make install` staged into a throwaway root (~1 min; CI runs them).
test-slow: $(TEST_INSTALLED)
	$(CACHED) $(BIN)/python -m pytest -n 0 -m slow $(PYTEST_ARGS)

# wrk (Debian's package) is the load generator; installed here, not mid-measurement.
# `make bench` runs every point of every curve (~5 min); `ARGS=--quick` fewer and shorter
# (~2.5 min); `ARGS=--all` adds the data-safety parts that build big stores (~7 min).
bench: $(TEST_INSTALLED)
	command -v wrk >/dev/null || apt-get install -y -q wrk || sudo -n apt-get install -y -q wrk
	$(CACHED) $(BIN)/python -m bench $(ARGS)

# Federation's cost and catch-up against Debian's Mosquitto (installed by the tests' setup
# if missing, ~1.5 min), then headquarters taking a chain of 100 stores (~2 min).
bench-federation: $(TEST_INSTALLED)
	$(CACHED) $(BIN)/python -m bench.federation
	$(CACHED) $(BIN)/python -m bench.hq

# A dinner rush for MINUTES (default 120) against `run --demo` with 20 robots: RSS, descriptors,
# threads, the database and its WAL sampled, every order accounted for (docs/BENCH.md, "Soak").
# Not part of `make test`; the results go to bench/soak.json.
MINUTES ?= 120

soak: $(TEST_INSTALLED)
	$(CACHED) $(BIN)/python -m bench.soak --minutes $(MINUTES) $(ARGS)

# The type checker reads the tests too, so it needs the test extras installed.
$(LINT_INSTALLED): $(BIN)/python $(DEPS)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,lint]'
	touch $@ $(TEST_INSTALLED) $(INSTALLED)

# ruff (style), mypy (types; what it checks and how strictly is in pyproject.toml).
lint: $(LINT_INSTALLED)
	$(BIN)/ruff check robodine_edge actors tests bench
	$(BIN)/ruff format --check robodine_edge actors tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The pages' third-party files, from the npm registry, checked against their pins
# (robodine_edge/web/vendor.toml). They are committed: nothing is fetched at run time.
vendor: $(INSTALLED)
	$(BIN)/python -m robodine_edge.web.vendor --fetch

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis var

# -- Installing on a Pi (README.md, "Installing on a Raspberry Pi"; docs/OPERATIONS.md) -------
# `sudo make install`: the service in its own venv in /opt/robodine-edge, the config (an
# existing one is kept), the unit, the `robodine` user (a sysusers.d file, applied), then the
# unit enabled and (re)started. `sudo make uninstall` removes all of that but the config and
# the data. `DESTDIR=<dir>` stages the same files under <dir> and changes nothing of this
# machine: no user, no systemctl. `make -n install` prints every command without running it.

override DESTDIR := $(abspath $(DESTDIR))
# The venv's interpreter: the system's (a Python under /home or /root is hidden by the unit).
SYSTEM_PYTHON ?= /usr/bin/python3
OPT := /opt/robodine-edge
ETC := /etc/robodine
UNIT := /etc/systemd/system/robodine-edge.service
SYSUSERS := /usr/lib/sysusers.d/robodine.conf
# The venv is built under this name, then moved into place: a failed build (no network)
# leaves an installed service as it was. Its absolute paths (script shebangs, pyvenv.cfg,
# activate) name the build folder until they are rewritten to $(OPT).
STAGE := $(DESTDIR)$(OPT).new
# What setup.py builds the package from, copied (without the checkout's compiled files) so
# the build writes nothing in the checkout, which root would then own.
BUILD_INPUTS := setup.py pyproject.toml README.md robodine_edge actors
# The service's bytecode is compiled beside its sources (its user cannot write them), so a
# PYTHONPYCACHEPREFIX in the caller's environment (`make test` sets one) is dropped for it.

install:
	@$(SYSTEM_PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make install: $(SYSTEM_PYTHON) is older than Python 3.11" >&2; exit 1; }
	@$(SYSTEM_PYTHON) -c 'import ensurepip' 2>/dev/null || { echo "make install: $(SYSTEM_PYTHON) cannot make a venv: sudo apt install python3-venv" >&2; exit 1; }
ifeq ($(DESTDIR),)
	@[ "$$(id -u)" = 0 ] || { echo "make install: run it as root (sudo make install), or stage it with DESTDIR=<dir>" >&2; exit 1; }
endif
	rm -rf $(STAGE)
	umask 022 && $(SYSTEM_PYTHON) -m venv $(STAGE)
	umask 022 && src=$$(mktemp -d) && trap 'rm -rf "$$src"' EXIT && tar -c --exclude=__pycache__ $(BUILD_INPUTS) | tar -x -C "$$src" && \
	  $(STAGE)/bin/pip install --no-compile --progress-bar off --disable-pip-version-check --root-user-action=ignore "$$src"
	grep -rlIF '$(STAGE)' $(STAGE) | xargs -r sed -i 's|$(subst .,\.,$(STAGE))|$(OPT)|g'
	umask 022 && env -u PYTHONPYCACHEPREFIX $(SYSTEM_PYTHON) -m compileall -q -f -j 0 -s $(STAGE) -p $(OPT) $(STAGE)/lib
	umask 022 && install -m 0644 README.md $(STAGE)/README.md && install -d $(STAGE)/docs/screenshots && install -m 0644 docs/*.md $(STAGE)/docs && install -m 0644 docs/screenshots/*.png $(STAGE)/docs/screenshots
	rm -rf $(DESTDIR)$(OPT).old
	if [ -e $(DESTDIR)$(OPT) ]; then mv $(DESTDIR)$(OPT) $(DESTDIR)$(OPT).old; fi
	mv $(STAGE) $(DESTDIR)$(OPT)
	rm -rf $(DESTDIR)$(OPT).old
	umask 022 && install -d $(DESTDIR)$(ETC) $(dir $(DESTDIR)$(UNIT)) $(dir $(DESTDIR)$(SYSUSERS))
	[ -e $(DESTDIR)$(ETC)/robodine.toml ] || install -m 0644 config/robodine.system.toml $(DESTDIR)$(ETC)/robodine.toml
	install -m 0644 systemd/robodine-edge.service $(DESTDIR)$(UNIT)
	install -m 0644 systemd/robodine.sysusers $(DESTDIR)$(SYSUSERS)
ifeq ($(DESTDIR),)
	systemd-sysusers $(SYSUSERS)
	if [ -d /run/systemd/system ]; then systemctl daemon-reload && systemctl enable robodine-edge.service && systemctl restart robodine-edge.service; \
	  else echo "systemd is not running here: robodine-edge.service is installed, not started"; fi
	@echo "$$($(OPT)/bin/robodine-edge --version) is installed. The admin password: sudo cat /var/lib/robodine/initial-admin-password;" \
	  "the logs: journalctl -u robodine-edge; the config: $(ETC)/robodine.toml"
else
	@echo "robodine-edge is staged under $(DESTDIR)"
endif

uninstall:
ifeq ($(DESTDIR),)
	@[ "$$(id -u)" = 0 ] || { echo "make uninstall: run it as root (sudo make uninstall)" >&2; exit 1; }
	if [ -d /run/systemd/system ] && [ -e $(UNIT) ]; then systemctl disable --now robodine-edge.service; fi
endif
	rm -f $(DESTDIR)$(UNIT) $(DESTDIR)$(SYSUSERS)
	rm -rf $(DESTDIR)$(OPT) $(DESTDIR)$(OPT).new $(DESTDIR)$(OPT).old
ifeq ($(DESTDIR),)
	if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	if id -u robodine >/dev/null 2>&1; then userdel robodine; fi
	if getent group robodine >/dev/null; then groupdel robodine; fi
endif
	@echo "kept: the config $(DESTDIR)$(ETC)/robodine.toml and the data $(DESTDIR)/var/lib/robodine"
