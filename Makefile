# Edge AI Vision Studio. `make run` and `make test` do all the set-up on a fresh machine.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMPS  := .stamps
DEMO    ?= $(HOME)/EdgeStudioProjects/demo

.PHONY: setup run test test-fast bench package lint clean

setup: $(STAMPS)/python $(STAMPS)/web

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "need $(PY) (Python 3.11) on PATH"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstalls only when the lock or the project metadata changes.
$(STAMPS)/python: $(BIN)/python requirements.lock pyproject.toml
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@mkdir -p $(STAMPS) && touch $@

# The TF.js runtime, from the npm registry, pinned by web_template/package-lock.json; never committed.
# The web app manifest's icons are rendered from the app icon here too (generated, so ignored like the runtime).
$(STAMPS)/web: web_template/package.json web_template/package-lock.json resources/app-icon.svg $(STAMPS)/python
	cd web_template && npm ci --no-audit --no-fund --loglevel=error
	for size in 192 512; do QT_QPA_PLATFORM=offscreen $(BIN)/python packaging/render_icon.py \
		resources/app-icon.svg web_template/icons/icon-$$size.png $$size || exit 1; done
	@mkdir -p $(STAMPS) && touch $@

run: setup
	@test -f "$(DEMO)/project.db" || $(BIN)/edge-studio demo "$(DEMO)"
	$(BIN)/edge-studio gui "$(DEMO)"

test: setup
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=30

test-fast: setup
	$(BIN)/python -m pytest -n 2 -m "not slow" --dist loadgroup

lint: setup
	$(BIN)/ruff check studio tests bench packaging
	$(BIN)/lint-imports

# Each benchmark prints a side-by-side ratio table (ours vs a plain baseline); none is a pass/fail test.
bench: setup
	$(BIN)/python bench/import_speed.py
	$(BIN)/python bench/train_speed.py
	$(BIN)/python bench/web_bundle.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/ui_latency.py
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/gil_handoff.py
	$(BIN)/python bench/app_size.py
	$(BIN)/python bench/suite_time.py

package: setup
	$(BIN)/python packaging/build.py

clean:
	rm -rf $(STAMPS) build dist
