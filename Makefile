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

.PHONY: setup models run api worker test lint loadtest transcribe bench eval eval-notation train-data train system-deps clean

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

# The separation backends (torch, bf16) on one song in one run, then HitNet's F on the mdb-dev mixes
# with each; BENCH_ARGS="--demucs-cli --threads 2 1" also times plain demucs and one thread.
bench: setup models
	@test -n "$(IN)" || { echo "usage: make bench IN=song.mp3 [BENCH_ARGS=...]"; exit 2; }
	$(PY) bench/bench_pipeline.py "$(IN)" $(BENCH_ARGS)

# Both hit models side by side: MDB Drums (../shared/eval) and the held-out-kit synthetic set.
eval: setup models
	$(PY) bench/eval_hits.py --data ../shared/eval/mdb-dev --out eval-out

# Notation benchmark: pieces with a known score (GMD test split, generated meters, mixes through
# Demucs) through the whole pipeline and from the true strokes; audio cached outside the repository.
eval-notation: setup models system-deps
	nice -n 10 $(PY) bench/eval_notation.py --set test --out eval-out/notation

# HitNet, Groovesheet's drum-hit model: build the training set (deterministic from TRAIN_SEED; nothing
# of it is committed), then train and write the weights, thresholds and metrics beside the worker.
TRAIN_DATA ?= training-data
TRAIN_SEED ?= 1234
TRAIN_PIECES ?= 1300
SEPARATED_PIECES ?= 24
REAL_KIT_PIECES ?= 500
PRODUCED_PIECES ?= 800
# Pieces whose closed hi-hats and cross-sticks come from a wider range of sounds (the third network's).
VARIED_PIECES ?= 600
TRAIN_STEPS ?= 8000
train-data: setup models system-deps
	$(PY) -m training.dataset --out $(TRAIN_DATA) --cache $(TRAIN_DATA)/cache --seed $(TRAIN_SEED) \
		--train $(TRAIN_PIECES) --validation 100 --separated $(SEPARATED_PIECES) --demucs-dir $(DEMUCS_MODEL_DIR) \
		--real-kit $(REAL_KIT_PIECES) --produced $(PRODUCED_PIECES) --heldout-synth 100 --varied $(VARIED_PIECES)

# HitNet is an ensemble of three networks trained side by side, one torch thread each (on a 2-core
# machine two threads per run wait on each other: measured 0.7 against 2.3 steps/s), with their own
# seed and loss weighting; the third also hears the varied closed hi-hats and cross-sticks
# (VARIED_PIECES). training.ensemble then joins them to the three networks of the first recipe (the
# shipped weights' first members, CYMBAL_EARS), averages them and chooses the thresholds: the ride and
# its bell are heard by those three alone (they hear real recorded rides better), every other class,
# the crash included, by all six.
MEMBERS := $(TRAIN_DATA)/members
HITNET_WEIGHTS := worker-service/groovesheet_worker/hitnet/weights
CYMBAL_EARS ?= $(HITNET_WEIGHTS)/hitnet.pt@0,1,2
train: setup
	@$(PY) -m training.train --data $(TRAIN_DATA) --steps $(TRAIN_STEPS) --threads 1 --seed 7 \
		--coincident-boost 2 --out $(MEMBERS)/a > $(MEMBERS)-a.log 2>&1 & a=$$!; \
	$(PY) -m training.train --data $(TRAIN_DATA) --steps $(TRAIN_STEPS) --threads 1 --seed 8 \
		--coincident-boost 1 --out $(MEMBERS)/b > $(MEMBERS)-b.log 2>&1 & b=$$!; \
	$(PY) -m training.train --data $(TRAIN_DATA) --steps $(TRAIN_STEPS) --threads 1 --seed 9 \
		--coincident-boost 2 --splits real_kit produced varied --out $(MEMBERS)/c > $(MEMBERS)-c.log 2>&1 & c=$$!; \
	echo "training three HitNets side by side: tail -f $(MEMBERS)-a.log $(MEMBERS)-b.log $(MEMBERS)-c.log"; \
	wait $$a; ra=$$?; wait $$b; rb=$$?; wait $$c; rc=$$?; tail -n 3 $(MEMBERS)-a.log $(MEMBERS)-b.log $(MEMBERS)-c.log; \
	test $$ra -eq 0 -a $$rb -eq 0 -a $$rc -eq 0
	$(PY) -m training.ensemble --data $(TRAIN_DATA) --members $(CYMBAL_EARS) \
		$(MEMBERS)/a/hitnet.pt $(MEMBERS)/b/hitnet.pt $(MEMBERS)/c/hitnet.pt \
		--class-members ride,ride_bell=0,1,2 --out $(HITNET_WEIGHTS)
	$(PY) -m training.model_card --weights $(HITNET_WEIGHTS)

# Status polling under concurrent uploads (200 pollers, 20 uploads of a 5-minute MP3), about 80 s.
loadtest: setup
	$(PY) bench/bench_api_load.py $(LOADTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
