# The two front-door commands: `make run` and `make test`. Everything installs into .venv.
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?= 2
export LOGBOOK_BASE_URL ?= http://$(HOST):$(PORT)

.PHONY: install dev translations messages run test lint bench screenshots clean

install: $(VENV)/.installed translations

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.txt
	touch $@

dev: $(VENV)/.dev-installed translations

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d translations 2>/dev/null

run: install
	$(BIN)/flask init-db
	$(BIN)/flask demo
	@echo "Serving on http://$(HOST):$(PORT) (Ctrl-C stops)"
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - 'app:create_app()'

test: dev
	$(BIN)/python -m pytest

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
