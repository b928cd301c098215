"""The speed knobs (src/gan/perf.py): their building blocks, and that they change how G and D run,
not what is learned. The `+perf=fast` preset's composition is in tests/test_config.py."""

from __future__ import annotations

import warnings

import lightning as L
import pytest
import torch
from torch._dynamo.exc import TorchDynamoException

from src.core.errors import ConfigError
from src.data import SyntheticDataModule
from src.gan import GAN, perf
from src.gan.perf import adam_options, compile_nets, compile_problem, match_param_layouts

TINY_G = {"_target_": "src.models.DCGANGenerator", "base_width": 4}
TINY_D = {"_target_": "src.models.DCGANDiscriminator", "base_width": 4}


def test_adam_options_fused_on_cuda_foreach_elsewhere_and_pytorchs_choice_when_off():
    assert adam_options(True, torch.device("cuda", 0)) == {"fused": True}
    assert adam_options(True, torch.device("cpu")) == {"foreach": True}
    assert adam_options(False, torch.device("cuda", 0)) == {}
    assert adam_options(False, torch.device("cpu")) == {}


def test_compile_mode_is_checked():
    assert perf.check_compile_mode("max-autotune") == "max-autotune"
    with pytest.raises(ConfigError) as err:
        perf.check_compile_mode("fastest")
    assert str(err.value).startswith("model.speed.compile_mode='fastest' is unknown: use one of default,")


def test_a_module_that_fails_to_compile_runs_eagerly_after_one_warning(monkeypatch):
    monkeypatch.setattr(perf, "_eager_warning_given", False)
    monkeypatch.setattr(perf, "compile_problem", lambda device: None)  # the toolchain looks fine ...
    calls = []

    def failing_compiled(*args, **kwargs):
        calls.append(args)
        raise TorchDynamoException("backend failed")  # ... but compiling this net fails at its first call

    monkeypatch.setattr(torch, "compile", lambda fn, **kwargs: failing_compiled)
    nets = [torch.nn.Linear(2, 2) for _ in range(2)]
    compile_nets(nets, "default", torch.device("cpu"))
    x = torch.ones(1, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = [net(x) for net in nets for _ in range(2)]
    assert len([w for w in caught if "training eagerly" in str(w.message)]) == 1  # one, for both modules
    assert len(calls) == 2  # each compiled callable tried once, then never again
    assert torch.equal(outputs[0], nets[0].forward(x)) and torch.equal(outputs[3], nets[1].forward(x))


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


# --- the knobs in training: same seed, data and steps, only the knobs differ


class LayoutRecorder(L.Callback):
    """Remembers whether each real batch reached D in channels_last layout (D's first call per batch)."""

    def on_train_start(self, trainer, gan):
        self.batches_channels_last, self.first_call = [], False

        def record(module, args):
            if self.first_call:
                self.batches_channels_last.append(args[0].is_contiguous(memory_format=torch.channels_last))
                self.first_call = False

        gan.discriminator.register_forward_pre_hook(record)

    def on_train_batch_start(self, *args):
        self.first_call = True


def compiled(net: torch.nn.Module) -> bool:
    """Whether `nn.Module.compile` was called on `net` (its calls then go through torch.compile)."""
    return net._compiled_call_impl is not None


KNOB_STEPS = 5


def fit_seeded(seed: int = 0, **knobs) -> tuple[GAN, L.Trainer]:
    """Same seed, data and steps; only `knobs` differ (log every step, so the losses are inspectable)."""
    L.seed_everything(seed, verbose=False)
    speed = {k: knobs.pop(k) for k in ("channels_last", "fused_adam", "compile") if k in knobs}
    model = GAN(TINY_G, TINY_D, latent_dim=8, speed=speed, **knobs)
    model.layouts = LayoutRecorder()
    trainer = L.Trainer(
        callbacks=[model.layouts],
        accelerator="cpu",
        max_steps=KNOB_STEPS,
        log_every_n_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=SyntheticDataModule(num_images=32, batch_size=8))
    return model, trainer


@pytest.fixture(scope="module")
def reference() -> tuple[GAN, L.Trainer]:
    """The default run every knob is compared with (trained once for this module)."""
    return fit_seeded()


def conv_weights(model: GAN) -> list[torch.Tensor]:
    return [p for p in model.parameters() if p.ndim == 4]


def max_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
    pairs = zip(a.state_dict().values(), b.state_dict().values())
    return max((x.double() - y.double()).abs().max().item() for x, y in pairs)


# The fast knobs only change the order of float32 sums (channels_last picks other convolution kernels,
# foreach Adam batches the same element-wise update, inductor fuses ops), about 1e-7 relative per op;
# measured after 5 steps: 1.2e-7 (1 ulp of weights near 1). 1e-5 leaves 80x margin and is still 1/20 of
# one Adam step (lr = 2e-4): a real change of the computation moves weights further, e.g. lr +10% moves
# them by 9e-4 in these 5 steps (checked below, so that the tolerance is known to have teeth).
SAME_TRAINING_ATOL = 1e-5


def test_default_run_keeps_pytorchs_adam_and_memory_layout(reference):
    model, trainer = reference
    for opt in trainer.optimizers:
        assert opt.param_groups[0]["foreach"] is None and opt.param_groups[0]["fused"] is None
    assert all(w.is_contiguous() for w in conv_weights(model))
    assert not any(model.layouts.batches_channels_last)
    assert not compiled(model.generator) and not compiled(model.discriminator)


def test_channels_last_and_foreach_adam_learn_the_same_parameters(reference):
    fast, trainer = fit_seeded(channels_last=True, fused_adam=True)
    # the knobs really were on (fused Adam is CUDA-only: on CPU fused_adam=true means foreach)
    assert all(w.is_contiguous(memory_format=torch.channels_last) for w in conv_weights(fast))
    assert fast.layouts.batches_channels_last == [True] * KNOB_STEPS
    assert all(opt.param_groups[0]["foreach"] is True for opt in trainer.optimizers)

    assert max_difference(fast, reference[0]) <= SAME_TRAINING_ATOL
    other_lr, _ = fit_seeded(lr_g=2.2e-4, lr_d=2.2e-4)
    assert max_difference(other_lr, reference[0]) > 10 * SAME_TRAINING_ATOL


@pytest.mark.slow
def test_compile_probe_leaves_the_random_stream_and_compiled_g_and_d_learn_the_same(reference):
    compile_problem.cache_clear()  # the probe really compiles (or fails) now, once for this test
    before = torch.get_rng_state()
    problem = compile_problem("cpu")
    assert torch.equal(torch.get_rng_state(), before)  # the probe's tiny net drew no training numbers
    if problem is not None:
        pytest.skip(f"torch.compile does not work on this machine: {problem}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, trainer = fit_seeded(compile=True)
    assert not [w for w in caught if "training eagerly" in str(w.message)]  # no fallback to eager
    assert compiled(model.generator) and compiled(model.discriminator) and not compiled(model.generator_ema)
    losses = [trainer.callback_metrics[k] for k in ("loss/d", "loss/g")]
    assert all(torch.isfinite(v) for v in losses)
    assert all(k.startswith(("generator.", "generator_ema.", "discriminator.")) for k in model.state_dict())
    assert max_difference(model, reference[0]) <= SAME_TRAINING_ATOL


def test_compile_that_cannot_run_trains_eagerly_after_one_warning(monkeypatch):
    monkeypatch.setattr(perf, "compile_problem", lambda device: "InvalidCxxCompiler: no C++ compiler")
    monkeypatch.setattr(perf, "_eager_warning_given", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, trainer = fit_seeded(compile=True)
    eager = [w for w in caught if "training eagerly" in str(w.message)]
    assert len(eager) == 1 and "InvalidCxxCompiler" in str(eager[0].message)
    assert not compiled(model.generator) and not compiled(model.discriminator)
    assert trainer.global_step == KNOB_STEPS
