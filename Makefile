# lipf: build, run and test.
#
#   make run                          build and run the default case (paper, 1.5 µm channels)
#   make run CONFIG=configs/smoke.json
#   make test                         build and run the test suite (Rust, then Python)
#   make python-test                  build the Python package (python/) into target/pyenv and
#                                     run its tests
#   make mutants                      the mutation gate (scripts/mutants): every listed mutation
#                                     of the model must make one of its named tests fail
#
# `deps` installs the system packages the build needs (Debian/Ubuntu) and does nothing when they
# are already there.

CARGO  ?= cargo
CONFIG ?=
LIPF   := ./target/release/lipf

# Debian/Ubuntu packages: HDF5 headers and library (fields.h5), pkg-config (to find HDF5),
# the Vulkan loader and Mesa's Vulkan drivers (lavapipe, a CPU Vulkan device for the GPU backend
# and its tests on machines without a GPU).
DEB_PACKAGES := libhdf5-dev pkg-config mesa-vulkan-drivers libvulkan1

.PHONY: all deps build run test mutants python-deps python-test bench fmt clippy clean

all: build

deps:
	@command -v $(CARGO) >/dev/null 2>&1 || { \
	  echo "error: '$(CARGO)' not found. Install the Rust toolchain (https://rustup.rs), then run make again." >&2; \
	  exit 1; }
	@if ! command -v dpkg >/dev/null 2>&1; then \
	  echo "deps: not a Debian/Ubuntu system; make sure these (or their equivalents) are installed: $(DEB_PACKAGES)"; \
	  exit 0; \
	fi; \
	missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg -s $$p 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	command -v cc >/dev/null 2>&1 || missing="$$missing gcc libc6-dev"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	echo "deps: installing$$missing"; \
	if [ "$$(id -u)" -eq 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; \
	else echo "error: not root and sudo not found; install as root:$$missing" >&2; exit 1; fi; \
	$$SUDO apt-get update && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing

build: deps
	$(CARGO) build --release --workspace

run: build
	$(LIPF) run $(CONFIG)

test: deps
	RUST_BACKTRACE=1 $(CARGO) test --release --workspace
	$(MAKE) --no-print-directory python-test

# One release build with `--features mutants`, then each mutation of lipf_core::mutants::LIST
# switched on by LIPF_MUTANT against the tests named for it in scripts/mutants.
mutants: deps
	CARGO=$(CARGO) scripts/mutants

# The Python package (python/, PyO3 + maturin): a virtual environment in target/pyenv with the
# build and test requirements from PyPI, the package built in release mode into target/ (the
# workspace's crates are reused), then its tests.
PYTHON ?= python3
PYENV  := target/pyenv
PY_DEB_PACKAGES := python3 python3-venv
PIP    := $(PYENV)/bin/pip --disable-pip-version-check -q

python-deps:
	@if $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then exit 0; fi; \
	if ! command -v dpkg >/dev/null 2>&1; then \
	  echo "error: the Python tests need $(PYTHON) (3.9 or newer) with the venv module" >&2; exit 1; \
	fi; \
	echo "python-deps: installing $(PY_DEB_PACKAGES)"; \
	if [ "$$(id -u)" -eq 0 ]; then SUDO=""; \
	elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; \
	else echo "error: not root and sudo not found; install as root: $(PY_DEB_PACKAGES)" >&2; exit 1; fi; \
	$$SUDO apt-get update && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(PY_DEB_PACKAGES)

python-test: deps python-deps
	@test -x $(PYENV)/bin/python || $(PYTHON) -m venv $(PYENV)
	$(PIP) install maturin pytest numpy scipy scikit-image h5py xarray 'dask[array]' matplotlib impedance
	PATH="$(CURDIR)/$(PYENV)/bin:$$PATH" $(PIP) install --no-build-isolation ./python
	$(PYENV)/bin/pytest -q -p no:cacheprovider python/tests

bench: deps
	$(CARGO) bench -p lipf-benches

fmt:
	$(CARGO) fmt --all

clippy: deps
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
