# Kanat: two commands set everything up on a fresh machine (Python 3.11, make, git).
#   make run   - venv, install, migrate the embedded SQLite database, demo fleet, serve
#   make test  - the whole suite (DATABASE_URL=postgres://... runs it on PostgreSQL)

PYTHON ?= python3.11
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint format typecheck migrations-check bench clean

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: Kanat needs Python 3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	mkdir -p var
	$(BIN)/kanat migrate --noinput -v 0
	$(BIN)/kanat demo --if-empty
	@echo "Kanat at http://127.0.0.1:$(PORT)/ (demo users: hub, operator-kz, operator-b, dana and more in README.md; password: demo)"
	$(BIN)/kanat runserver 127.0.0.1:$(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@# on SQLite, the tests racing real threads again on a database file (exit 5: none chosen)
	@case "$$DATABASE_URL" in postgres*) ;; *) \
	  mkdir -p var && rm -f var/test-threads.sqlite3 && \
	  KANAT_TEST_SQLITE=$(CURDIR)/var/test-threads.sqlite3 \
	    $(BIN)/python -m pytest -q -m concurrency $(PYTEST_ARGS) || [ $$? -eq 5 ];; esac

lint: $(STAMP)
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

format: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

migrations-check: $(STAMP)
	$(BIN)/kanat makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var build *.egg-info src/*.egg-info
