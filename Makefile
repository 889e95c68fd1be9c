# callqa — two commands on a fresh machine: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Offline, no telemetry, wherever the project runs.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false
export ORT_DISABLE_TELEMETRY := 1

.PHONY: install demo test lint bench demo-audio clean wheel-test

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,diarize]"
	touch $(STAMP)

demo: install
	$(BIN)/callqa run --manifest examples/manifest.csv --rescore
	$(BIN)/callqa score --manifest examples/manifest.csv --json demo-output/scorecards
	$(BIN)/callqa export --format csv demo-output/inspections.csv
	@echo "records: the store above (callqa export); inspections: demo-output/inspections.csv; scorecards with evidence: demo-output/scorecards/; daily report: the 'report:' line above"
	@echo "review app: callqa users add NAME --role qa_admin, then callqa review (http://127.0.0.1:8000)"

test: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# Build the wheel, install it into a fresh environment and score the demo from outside the
# checkout (CI runs this after the tests).
wheel-test: install
	bash .ci/wheel_test.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: install
	$(BIN)/python bench/asr.py
	$(BIN)/python bench/scoring.py
	$(BIN)/python bench/classifier_methods.py
	$(BIN)/python bench/classify.py
	$(BIN)/python bench/risk_calibration.py
	$(BIN)/python bench/nightly.py
	$(BIN)/python bench/review_app.py
	$(BIN)/python bench/pii.py
	$(BIN)/python bench/diarization.py --quick
	$(BIN)/python bench/roles.py
	$(BIN)/python bench/mono.py

demo-audio: install
	$(BIN)/python examples/make_demo_calls.py

clean:
	rm -rf demo-output .pytest_cache
