# The front-door commands: `make run`, `make test` (everything) and `make check` (the fast loop).
# Everything installs into .venv, from the hashed locks that `make lock` writes.
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?= 4
export LOGBOOK_BASE_URL ?= http://$(HOST):$(PORT)
# One lock for every platform; unchanged pins are kept. --no-config: no user's uv settings change the result.
LOCK_OPTIONS := --no-config --quiet --generate-hashes --universal --python-version 3.11 --custom-compile-command 'make lock'

.PHONY: install dev translations messages run test check system-packages lock lint bench screenshots clean

install: $(VENV)/.installed translations

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q --require-hashes -r requirements.txt
	touch $@

dev: $(VENV)/.dev-installed translations

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --disable-pip-version-check -q --require-hashes -r requirements-dev.txt
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d translations 2>/dev/null

run: install
	$(BIN)/flask init-db
	$(BIN)/flask demo
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl-C stops)"
# With LOGBOOK_REPLICA_URL set (e.g. file:///backup/logbook or s3://bucket/logbook), Litestream runs gunicorn and
# streams every change of the database to that replica; docs/deploying.md shows how to restore from it.
	@if [ -n "$$LOGBOOK_REPLICA_URL" ]; then set -x; \
	  $(BIN)/litestream replicate -exec "$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - 'app:create_app()'" \
	    "$${LOGBOOK_DATABASE:-instance/logbook.db}" "$$LOGBOOK_REPLICA_URL"; \
	else set -x; \
	  $(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - 'app:create_app()'; \
	fi

test: system-packages dev
	$(BIN)/python -m pytest

# The fast loop: every test but the browser, race and crash ones (markers in pyproject.toml); the PDF documents need
# Debian's Pango and CJK fonts, which system-packages installs when missing.
check: system-packages dev
	$(BIN)/python -m pytest -n auto -m "not browser and not race and not crash"

# Debian's Chromium and CJK fonts for the browser tests, installed with apt-get when missing.
system-packages:
	bash scripts/system-packages.sh

# After editing requirements*.in: compile them, with every transitive dependency and its hashes, into requirements*.txt.
lock: dev
	$(BIN)/uv pip compile $(LOCK_OPTIONS) requirements.in -o requirements.txt
	$(BIN)/uv pip compile $(LOCK_OPTIONS) requirements-dev.in -o requirements-dev.txt

lint: dev
	$(BIN)/ruff check .

bench: dev
	$(BIN)/python bench/write_vs_hello.py

clean:
	rm -rf $(VENV) .pytest_cache

# After changing user-facing strings: extract them and update the Chinese catalogue, then translate the new entries.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot --ignore-dirs='.venv tests bench' .
	$(BIN)/pybabel update -i translations/messages.pot -d translations -l zh --no-fuzzy-matching

# Retake the README's screenshots (docs/screenshots) with the browser tests.
screenshots: dev
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e/test_pages.py -k fits
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/test_documents.py -k page_one
