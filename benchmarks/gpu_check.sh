#!/usr/bin/env bash
# `make gpu-check`: benchmarks/gpu_check.py on this machine's GPU, once hydra & co. import. Without them and
# without internet (benchmarks/GPU_CHECK.md): `--stage` carrying .gpu/a (wheels into $SITE, CIFAR-10 into
# $STAGE/data), then, on the same warm machine, the check carrying .gpu/b (the Inception weights' 2nd part).
#   bash benchmarks/gpu_check.sh [--stage | gpu_check.py's options, e.g. --dry-run]
set -euo pipefail
cd "$(dirname "$0")/.."

PAYLOAD=${GANLAB_GPU_PAYLOAD:-.gpu}
STAGE=${GANLAB_GPU_STAGE:-/tmp/ganlab-gpu}
SITE=${GANLAB_GPU_SITE:-/tmp/ganlab-site}
WEIGHTS=default_1.pt
PART1=weights/$WEIGHTS.part1   # in part a, staged to $STAGE
PART2=$PAYLOAD/b/weights/$WEIGHTS.part2
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi

die() { echo "error: $*" >&2; exit 2; }
say() { echo "[gpu_check.sh] $*" >&2; }
importable() { PYTHONPATH="$1${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -c "import hydra, omegaconf, torch_fidelity" 2>/dev/null; }

# hydra-core, omegaconf, antlr4 and torch-fidelity: from the environment, or from the staged wheels
use_packages() {
  if importable ""; then return; fi
  if ! importable "$SITE"; then
    local wheels=()
    for dir in "$STAGE/wheels" "$PAYLOAD/a/wheels"; do
      if compgen -G "$dir/*.whl" >/dev/null; then wheels=("$dir"/*.whl); break; fi
    done
    [ ${#wheels[@]} -gt 0 ] || die "hydra or torch-fidelity is not importable with $PYTHON and no wheels are staged: run 'bash benchmarks/gpu_check.sh --stage' carrying .gpu/a first (benchmarks/GPU_CHECK.md), or make install"
    say "installing ${#wheels[@]} wheels into $SITE"
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "${wheels[@]}"
    importable "$SITE" || die "the wheels in $SITE do not import with $PYTHON"
  fi
  export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
}

stage() {
  [ -d "$PAYLOAD/a" ] || die "no $PAYLOAD/a here: make gpu-payload, then carry .gpu/a in this call"
  mkdir -p "$STAGE"
  cp -r "$PAYLOAD/a/." "$STAGE/"
  use_packages
  if [ ! -f "$STAGE/data/cifar-10-batches-py/data_batch_5" ]; then
    say "building CIFAR-10 in $STAGE/data from the JPEG copy"
    "$PYTHON" "$STAGE/cifar10/build_cifar10.py" "$STAGE/data"
  fi
  say "staged in $STAGE: next, within the machine's warm window, 'bash benchmarks/gpu_check.sh' carrying .gpu/b"
}

# where --stage ran: the Inception weights' two parts joined and checked, or why the FID parts are skipped
weights_options() {
  local staged="$STAGE/$PART1" expected actual
  [ -d "$STAGE" ] || return 0
  if [ -f "$staged" ] && [ -f "$PART2" ]; then
    cat "$staged" "$PART2" > "$STAGE/$WEIGHTS"
    expected=$(sed -n 's/^FID_HELPER_SHA256 = "\([0-9a-f]\{64\}\)"$/\1/p' src/metrics/network.py)
    actual=$(sha256sum "$STAGE/$WEIGHTS" | cut -d' ' -f1)
    if [ "$actual" = "$expected" ]; then
      say "Inception weights joined: $STAGE/$WEIGHTS (sha256 ${actual:0:12}...)"
      echo "--weights"; echo "$STAGE/$WEIGHTS"
    else
      echo "--skip-fid"; echo "the joined Inception weights have sha256 $actual, not $expected: make gpu-payload again"
    fi
  elif [ -f "$staged" ]; then
    echo "--skip-fid"; echo "only part 1 of the Inception weights is here ($PART2 missing): carry .gpu/b in the check's call"
  else
    echo "--skip-fid"; echo "$STAGE holds no part 1 of the Inception weights ($staged): run --stage carrying .gpu/a again"
  fi
}

if [ "${1:-}" = "--stage" ]; then
  stage
  exit 0
fi
use_packages
if [ -z "${GANLAB_DATA_DIR:-}" ] && [ -d "$STAGE/data/cifar-10-batches-py" ]; then
  export GANLAB_DATA_DIR="$STAGE/data"
fi
mapfile -t options < <(weights_options)
exec "$PYTHON" benchmarks/gpu_check.py ${options[@]+"${options[@]}"} "$@"
