# `make demo` and `make test` are all a newcomer needs: both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export NO_ALBUMENTATIONS_UPDATE := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: demo test lint typecheck format bench clean browser

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	# ImageNet-C's reference code, for tests/corruptions/test_fidelity.py only. --no-deps: it asks for
	# opencv-python, which would overwrite opencv-python-headless's cv2 (its other needs are installed).
	$(BIN)/python -m pip install --quiet --no-deps imagecorruptions==1.1.2
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/robustlens demo

# One worker per core, up to 4, each taking whole files (module fixtures are built once); plain
# `pytest` still runs everything in one process.
test: $(STAMP) browser typecheck
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile --durations=15

# Headless Chromium (Debian's package) for the HTML report tests; playwright drives it, never downloads one.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the report tests (apt-get)..."; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP) typecheck
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy over the package ([tool.mypy] in pyproject.toml): ~1 min cold, seconds with .mypy_cache.
typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/corruption_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
