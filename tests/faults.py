"""Real faults for the reliability tests, injected from inside a training process.

Each is a callback (or feature network) that a test adds on the command line, so the process under
test is the real `python -m src.train` and the fault is real: SIGKILL or SIGTERM sent to itself,
a NaN written into a weight, a kill in the middle of writing a checkpoint.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import lightning as L
import torch

from src.metrics.network import FeatureNetwork
from tests.helpers import TinyFeatures


class SignalAtStep(L.Callback):
    """Sends `signum` to its own process right after step `step` (SIGKILL: nothing after it runs)."""

    def __init__(self, step: int, signum: int = signal.SIGKILL):
        self.step, self.signum = step, signum

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step and trainer.ckpt_path is None:  # the first run only
            os.kill(os.getpid(), self.signum)


class KillInCheckpointWrite(L.Callback):
    """From step `step` on, the next checkpoint write dies after its temp file, before the rename."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer: L.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step and trainer.ckpt_path is None:
            import src.core.files as atomic_io

            def die(*_: Any) -> None:
                os.kill(os.getpid(), signal.SIGKILL)

            atomic_io.os.replace = die  # the process ends here: nothing else ever sees the patch


class NaNAtStep(L.Callback):
    """Writes a NaN into G's first weight after step `step` (only in the first attempt of a process)."""

    done = False

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, *args: Any) -> None:
        if trainer.global_step == self.step and not NaNAtStep.done:
            NaNAtStep.done = True
            with torch.no_grad():
                next(pl_module.generator.parameters()).view(-1)[0] = float("nan")


class SignalDuringFeatures(FeatureNetwork):
    """The tests' tiny feature network, sending `signum` to its process on call number `at_call`."""

    def __init__(self, at_call: int, signum: int = signal.SIGKILL):
        super().__init__("tiny-signalling", "test", has_logits=False)
        with torch.random.fork_rng():  # TinyFeatures seeds itself: keep the run's random stream as it is
            self.net = TinyFeatures()
        self.calls, self.at_call, self.signum = 0, at_call, signum
        self.first_run = not any(a.startswith("ckpt_path=") for a in sys.argv)  # resumed: no fault

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, None]:
        self.calls += 1
        if self.calls == self.at_call and self.first_run:
            os.kill(os.getpid(), self.signum)
        x = torch.nn.functional.interpolate(images.float(), size=(299, 299))
        return self.net(x), None
