"""Progress of long passes over images (FID reference statistics, FID samples, evaluation).

The bar counts images, so its rate and ETA read in images/s whatever the batch size; after the first
batch one line gives the expected time of the whole pass when it is long on this device (an Inception
pass on a CPU runs at a few images per second), so nobody waits in front of a silent console.
"""

from __future__ import annotations

import logging
import time

from tqdm.auto import tqdm

log = logging.getLogger(__name__)

LONG_PASS_S = 60.0  # a pass expected to take longer than this is announced with its expected time


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class ImageProgress:
    """A tqdm bar in images plus one expected-time line, e.g. `with ImageProgress(5000, "real images")`."""

    def __init__(self, total: int, desc: str, enabled: bool = True, long_pass_s: float = LONG_PASS_S):
        self.total, self.desc, self.enabled, self.long_pass_s = total, desc, enabled, long_pass_s
        self.done = 0
        self.bar = tqdm(
            total=total, desc=desc, unit="img", disable=not enabled, leave=False, dynamic_ncols=True
        )
        self.started = time.perf_counter()

    def update(self, images: int) -> None:
        first = self.done == 0
        self.done += images
        self.bar.update(images)
        if first and self.enabled and self.done < self.total:
            rate = self.done / max(time.perf_counter() - self.started, 1e-9)
            expected = self.total / rate
            if expected > self.long_pass_s:
                log.info(
                    "%s: %d images at %.1f images/s, expected %s (progress bar below)",
                    self.desc,
                    self.total,
                    rate,
                    format_duration(expected),
                )

    def __enter__(self) -> ImageProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()
