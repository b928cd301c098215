"""The speed knobs' building blocks (src/perf.py) and the `+perf=fast` preset (conf/perf/fast.yaml)."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch._dynamo.exc import TorchDynamoException

from src import perf
from src.perf import CompiledOrEager, adam_options, match_param_layouts
from src.utils import resolvers
from src.utils.validation import validate_config


def test_adam_options_fused_on_cuda_foreach_elsewhere_and_pytorchs_choice_when_off():
    assert adam_options(True, torch.device("cuda", 0)) == {"fused": True}
    assert adam_options(True, torch.device("cpu")) == {"foreach": True}
    assert adam_options(False, torch.device("cuda", 0)) == {}
    assert adam_options(False, torch.device("cpu")) == {}


def test_a_module_that_fails_to_compile_runs_eagerly_after_one_warning(monkeypatch):
    monkeypatch.setattr(perf, "_eager_warning_given", False)
    calls = []

    def failing_compiled(x):
        calls.append(x)
        raise TorchDynamoException("backend failed")

    wrappers = [CompiledOrEager(torch.nn.Linear(2, 2), "default") for _ in range(2)]
    for wrapper in wrappers:
        wrapper.compiled = failing_compiled
    x = torch.ones(1, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = [wrapper(x) for wrapper in wrappers for _ in range(2)]
    assert len([w for w in caught if "training eagerly" in str(w.message)]) == 1  # one, for both modules
    assert len(calls) == 2  # each compiled callable tried once, then never again
    assert torch.equal(outputs[0], wrappers[0].module(x)) and torch.equal(outputs[3], wrappers[1].module(x))


def test_compile_probe_leaves_the_random_stream_alone():
    before = torch.get_rng_state()
    perf.compile_problem.__wrapped__("cpu")  # uncached: really compiles (or fails) now
    assert torch.equal(torch.get_rng_state(), before)


def test_restored_optimizer_states_take_their_parameters_layout():
    conv = torch.nn.Conv2d(3, 4, 3)
    source = torch.optim.Adam(conv.parameters())
    conv(torch.randn(2, 3, 8, 8)).sum().backward()
    source.step()
    saved = source.state_dict()  # states in the default (NCHW) layout
    conv.to(memory_format=torch.channels_last)
    target = torch.optim.Adam(conv.parameters(), foreach=True)
    target.register_load_state_dict_post_hook(match_param_layouts)
    target.load_state_dict(saved)
    state = target.state[conv.weight]
    for key in ("exp_avg", "exp_avg_sq"):
        assert state[key].stride() == conv.weight.stride()
        assert torch.equal(state[key], saved["state"][0][key])


def test_default_config_has_every_speed_knob_off(compose_cfg):
    cfg = compose_cfg()
    assert not (cfg.model.channels_last or cfg.model.fused_adam or cfg.model.compile)
    assert cfg.model.compile_mode == "default"
    assert str(cfg.trainer.precision) == "32" and cfg.trainer.benchmark is False
    assert cfg.matmul_precision is None


@pytest.mark.parametrize("trainer,precision", [("cpu", "32"), ("gpu", "bf16-mixed"), ("ddp", "bf16-mixed")])
def test_fast_preset_turns_every_knob_on_and_bf16_only_on_gpus(compose_cfg, trainer, precision):
    cfg = compose_cfg("+perf=fast", f"trainer={trainer}")
    validate_config(cfg)
    assert cfg.model.channels_last and cfg.model.fused_adam and cfg.model.compile
    assert str(cfg.trainer.precision) == precision
    assert cfg.trainer.benchmark is True and cfg.matmul_precision == "high"


def test_fast_preset_with_automatic_accelerator_follows_cuda(compose_cfg, monkeypatch):
    for available, precision in [(True, "bf16-mixed"), (False, "32")]:
        monkeypatch.setattr(resolvers.torch.cuda, "is_available", lambda a=available: a)
        assert str(compose_cfg("+perf=fast").trainer.precision) == precision
