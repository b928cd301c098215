"""The NaN guard: a device flag folded each step, read only when asked."""

from __future__ import annotations

import pytest
import torch

from src.generative.nonfinite import NonFiniteError, NonFiniteTracker, first_nonfinite_parameter


def test_the_first_bad_step_and_its_values_are_kept():
    tracker = NonFiniteTracker()
    tracker.start(10, torch.device("cpu"))
    for loss in (1.0, 2.0, float("nan"), float("inf"), 3.0):
        tracker.update(**{"loss/d": torch.tensor(0.5), "loss/g": torch.tensor(loss)})
    with pytest.raises(NonFiniteError, match=r"^step 12: non-finite loss/d=0.5, loss/g=nan$"):
        tracker.check()


def test_finite_steps_pass_and_update_never_reads_the_flag(monkeypatch):
    tracker = NonFiniteTracker()
    tracker.start(0, torch.device("cpu"))
    monkeypatch.setattr(torch.Tensor, "item", lambda self: pytest.fail("update synced with the host"))
    monkeypatch.setattr(torch.Tensor, "__bool__", lambda self: pytest.fail("update synced with the host"))
    for _ in range(3):
        tracker.update(loss=torch.tensor(1.0))
    monkeypatch.undo()
    tracker.check()  # all finite: nothing raised


def test_a_non_finite_weight_is_named():
    net = torch.nn.Linear(2, 2)
    assert first_nonfinite_parameter(net) is None
    with torch.no_grad():
        net.bias[1] = float("inf")
    assert first_nonfinite_parameter(net) == "bias"
