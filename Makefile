# Groovesheet: `make run` serves the page and transcribes locally; `make test` runs every check.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SHARED_MODELS ?= ../shared/models
MODELS_DIR ?= models
PORT ?= 8080
WORKER_PORT ?= 8081
STAMP := $(VENV)/.installed

export LOCAL_JOBS_DIR ?= $(CURDIR)/shared-jobs
# TensorFlow's C++ start-up lines are not JSON; keep them out of the logs.
export TF_CPP_MIN_LOG_LEVEL ?= 3
export ANNOTEATOR_MODEL_PATH ?= $(CURDIR)/$(MODELS_DIR)/annoteator/complete_network.h5
export DEMUCS_MODEL_DIR ?= $(CURDIR)/$(MODELS_DIR)/demucs/htdemucs

# The API's HTTP protocol with header size and timeout limits (api-service/groovesheet_api/server.py).
API_FLAGS := --http groovesheet_api.server:HardenedHttpProtocol --no-server-header --no-access-log

REQUIREMENTS := shared/requirements.txt api-service/requirements.txt \
	worker-service/requirements.txt requirements-dev.txt

.PHONY: setup models run api worker test lint loadtest transcribe bench eval system-deps clean

# One virtualenv with both services and the test tools; reinstalled only when requirements change.
setup: $(STAMP)
$(STAMP): $(REQUIREMENTS) shared/pyproject.toml api-service/pyproject.toml worker-service/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q $(foreach r,$(REQUIREMENTS),-r $(r))
	$(PIP) install -q --no-deps -e shared -e api-service -e worker-service
	touch $(STAMP)

# Model weights are never committed: copied from ../shared/models here, downloaded with sha256
# checks in the production image (worker-service/Dockerfile).
models: setup
	$(PY) -m groovesheet_worker.model_files --source "$(SHARED_MODELS)" --dest "$(MODELS_DIR)"

run: setup models
	@echo "Groovesheet: open http://localhost:$(PORT)/ (API docs at /docs; worker health on :$(WORKER_PORT)). Ctrl-C stops both."
	@trap 'trap - INT TERM EXIT; kill $$(jobs -p) 2>/dev/null; wait' INT TERM EXIT; \
	PORT=$(WORKER_PORT) $(PY) -m groovesheet_worker.main & \
	PORT=$(PORT) $(PY) -m uvicorn groovesheet_api.main:app --host 0.0.0.0 --port $(PORT) $(API_FLAGS) & \
	wait -n

api: setup
	$(PY) -m uvicorn groovesheet_api.main:app --host 0.0.0.0 --port $(PORT) $(API_FLAGS)

worker: setup models
	PORT=$(WORKER_PORT) $(PY) -m groovesheet_worker.main

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup models system-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest $(PYTEST_ARGS)

# Programs the tests drive for real: ffmpeg, MuseScore 3, Chromium, shellcheck (Debian packages).
system-deps:
	@bash .ci/system-deps.sh

transcribe: setup models
	@test -n "$(IN)" || { echo "usage: make transcribe IN=song.mp3 OUT=dir/"; exit 2; }
	$(PY) -m groovesheet_worker.cli "$(IN)" --out "$(or $(OUT),out)"

bench: setup models
	@test -n "$(IN)" || { echo "usage: make bench IN=song.mp3"; exit 2; }
	$(PY) bench/bench_pipeline.py "$(IN)"

eval: setup models
	$(PY) bench/eval_mdb.py --data ../shared/eval/mdb-dev --out eval-out

# Status polling under concurrent uploads (200 pollers, 20 uploads of a 5-minute MP3), about 80 s.
loadtest: setup
	$(PY) bench/bench_api_load.py $(LOADTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
