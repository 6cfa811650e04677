# The two commands of the README: `make run` and `make test`. Everything they need, they install.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test lint setup assets translations messages clean

run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	$(BIN)/flask run --host $(HOST) --port $(PORT)

test: setup $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Style and layers: ruff (pyflakes, pycodestyle, bugbear, isort, pyupgrade; formatting) and the
# import-linter contracts in pyproject.toml (blueprints never import each other; the domain no blueprint).
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

setup: $(VENV)/.installed assets translations

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

assets: node_modules/.package-lock.json
	scripts/vendor-assets.sh

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d app/translations 2>&1 | grep -v '^compiling' || true

# Re-extract the strings to translate after changing templates or code, then edit the .po files.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-fuzzy-matching -w 100

clean:
	rm -rf $(VENV) node_modules app/static/vendor
