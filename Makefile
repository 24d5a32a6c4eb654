# The developer's front door. `make test` is what CI runs (.ci/run); `make demo` serves examples/.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# maturin installs into the active virtualenv; pyo3 builds against the venv's interpreter so
# `cargo test` and `maturin develop` share one build configuration (no rebuild ping-pong).
export VIRTUAL_ENV := $(abspath $(VENV))
export PYO3_PYTHON := $(abspath $(PY))

.PHONY: demo docs test check-tools bench build build-release lint clean

$(PY):
	$(PYTHON) -m venv $(VENV)

# Re-run when the declared dependencies change.
$(VENV)/.tools: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip 'maturin>=1.9.4,<2'
	touch $@

# Editable install: the compiled _native module lands inside ./wsgi_mw, so `import wsgi_mw`
# from the repo root and from site-packages is the same package (no shadowing).
build: $(VENV)/.tools
	$(VENV)/bin/maturin develop --quiet --extras test,bench

build-release: $(VENV)/.tools
	$(VENV)/bin/maturin develop --quiet --release --extras test,bench

# System tools the tests use (not pip-installable): valgrind counts instructions for the
# linear-cost tests (tests/test_hostile.py); redis-server is the real shared store of
# Cache(store="redis://...") (tests/test_cache_redis.py and test_cache.py start it on a free
# port). CI (.ci/run) installs both with apt-get.
check-tools:
	@command -v valgrind >/dev/null || { echo "valgrind is missing: install it with 'sudo apt-get install valgrind' (Debian/Ubuntu) or 'brew install valgrind'; tests/test_hostile.py counts instructions with it" >&2; exit 1; }
	@command -v redis-server >/dev/null || { echo "redis-server is missing: install it with 'sudo apt-get install redis-server' (Debian/Ubuntu) or 'brew install redis'; the Cache tests start a real one on a free port" >&2; exit 1; }

test: check-tools build
	cargo test
	$(PY) -m mypy.stubtest wsgi_mw._native
	$(PY) -m mypy --strict examples/
	$(PY) -m pytest
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# The server rows of bench_stack load the servers with wrk (Debian package `wrk`: 'sudo
# apt-get install wrk', or 'brew install wrk'); without it they fall back to a Python client,
# which then bounds the figures (docs/benchmarks.md says which one ran).
bench: build-release
	@command -v wrk >/dev/null || echo "note: wrk is missing ('sudo apt-get install wrk'); the server rows use a Python client instead" >&2
	$(PY) benches/run_all.py --output docs/benchmarks.md

# Only what the demo needs: the extension and the standard library (no test or bench extras).
demo: $(VENV)/.tools
	$(VENV)/bin/maturin develop --quiet
	$(PY) examples/demo.py

# The documentation site, served beside the demo (which takes port 8000).
docs: $(VENV)/.tools
	$(VENV)/bin/maturin develop --quiet --extras docs
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve -a 127.0.0.1:8001

lint: build
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) target wsgi_mw/*.so
