# Two commands set up and run everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT := out
QUESTION := Which country's ambassador met the head of Iran's Cinema Organization?
# An English question whose answer is only in a Persian article: answered with citations to its sentences.
ASK := Whom did Iran's cultural counsellor in Kazakhstan meet, and what did they agree on?

# The browser tests drive Debian's Chromium (never a downloaded browser build).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)

.PHONY: install browser run test lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

browser:
	@test -x $(CHROMIUM) || { echo "installing Debian's chromium for the browser tests"; \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
	    --no-install-recommends chromium fonts-dejavu-core > /dev/null; } \
	  || echo "warning: chromium could not be installed; the browser tests will be skipped"; }

run: install
	$(BIN)/coopqa ingest corpus
	$(BIN)/coopqa docs
	$(BIN)/coopqa search "$(QUESTION)" -k 3
	$(BIN)/coopqa summarize --all -o $(OUT)/summaries
	$(BIN)/coopqa brief --format html -o $(OUT)/briefing.html > /dev/null
	$(BIN)/coopqa brief --format md -o $(OUT)/briefing.md
	$(BIN)/coopqa ask "$(ASK)"

test: install browser
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf .coopqa $(OUT) eval-report.json eval-report.html
