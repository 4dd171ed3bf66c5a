# The two commands a newcomer needs: `make crawl` (main job) and `make test`.
# Both create the virtual environment on first use.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
URLS ?= data/samples/urls.txt
OUTPUT ?= data/output

.PHONY: crawl test lint schema clean

# The main job's dependencies only; `make test` and `make lint` add the test and dev tools.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

crawl: $(BIN)/.installed  ## crawl URLS (default: the bundled offline samples)
	$(BIN)/scrapy crawl articles -a urls=$(URLS) -s NEWSCRAWL_OUTPUT_DIR=$(OUTPUT) -s LOG_LEVEL=WARNING
	@$(BIN)/python -c "import pathlib,sys; runs=sorted(pathlib.Path('$(OUTPUT)/articles').glob('*/run.json')); sys.exit('no run written') if not runs else print('Output:', runs[-1].parent)"

test: $(BIN)/.installed-dev  ## the test suite, as CI runs it (installs chromium as root)
	$(BIN)/python -m tests.bootstrap
	$(BIN)/python -m pytest

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

schema: $(BIN)/.installed  ## regenerate schemas/*.schema.json from the models
	$(BIN)/python -m schemas.export

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache *.egg-info
