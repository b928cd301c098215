"""The GPU check's clock: each part has a time budget, printed when it starts and when it ends, and the
whole check has a hard limit (under the device tool's 10 minutes per command) that no run outlasts."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

SECONDS_PER_MINUTE = 60


def minutes(seconds: float) -> str:
    """127.4 -> '2:07'."""
    whole = max(0, round(seconds))
    return f"{whole // SECONDS_PER_MINUTE}:{whole % SECONDS_PER_MINUTE:02d}"


@dataclass
class Part:
    """One part's budget and how long it has taken so far (or took, once it ended)."""

    title: str
    budget_s: float
    clock: Clock
    started: float = field(default_factory=time.monotonic)
    seconds: float | None = None

    def elapsed(self) -> float:
        return self.seconds if self.seconds is not None else time.monotonic() - self.started

    def over(self, projected_s: float = 0.0, allowed: float = 1.0) -> bool:
        """Would the part pass `allowed` times its budget after `projected_s` more seconds?"""
        return self.elapsed() + projected_s > self.budget_s * allowed


class Clock:
    """Wall time since the check started; `say` prints a progress line stamped with it (stderr)."""

    def __init__(self, hard_limit_s: float):
        self.started, self.hard_limit_s = time.monotonic(), hard_limit_s

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def left(self) -> float:
        """Seconds before the hard limit: the longest any run started now may take."""
        return max(0.0, self.hard_limit_s - self.elapsed())

    def say(self, line: str) -> None:
        print(f"[gpu-check {minutes(self.elapsed())}] {line}", file=sys.stderr, flush=True)

    @contextmanager
    def part(self, label: str, title: str, budget_s: float) -> Iterator[Part]:
        """Announce a part with its budget, time it, and say how long it took."""
        self.say(f"{label}: {title} (budget {minutes(budget_s)}, {minutes(self.left())} left)")
        part = Part(title, budget_s, self)
        try:
            yield part
        finally:
            part.seconds = time.monotonic() - part.started
            verdict = "over budget" if part.over() else "within budget"
            self.say(f"{label} done in {minutes(part.seconds)} ({verdict} {minutes(budget_s)})")
