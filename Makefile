# Slipstream set-up and everyday commands. `make train` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED_TRACKS := $(abspath ../shared/tracks)
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: venv train test lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	# torch first, pinned, so pip never pulls a multi-GB CUDA build for the project's torch requirement
	$(BIN)/python -m pip install "torch==2.13.0"
	# what training, the dashboard and TensorBoard files need; the test extras come with `make test`
	$(BIN)/python -m pip install -e ".[dashboard,tensorboard]"
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	# deepracer: TensorFlow CPU + OpenVINO (~330 MB of wheels) for the car / DRfC model tests
	$(BIN)/python -m pip install -e ".[test,s3,deepracer]"
	touch $(TEST_STAMP)

venv: $(STAMP)

train: $(STAMP)
	$(BIN)/slipstream train --run runs/default-$$(date +%Y%m%d-%H%M%S) --minutes 15 --until-lap --evaluate

test: $(TEST_STAMP)
	@# the browser test drives Debian's chromium (never a downloaded browser); install it as root
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && apt-get install -y -qq chromium) || echo 'chromium not installed: the browser test will skip'; fi
	@if [ -d "$(SHARED_TRACKS)" ]; then export SLIPSTREAM_TRACKS="$(SHARED_TRACKS)"; fi; \
	$(BIN)/python -m pytest -q

lint: $(TEST_STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(TEST_STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/slipstream bench sim

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
