"""Lightning callbacks of a GAN run: sample grids, images per second, FID/KID, last.ckpt and stops,
the denoising strip and the sampling time of a diffusion model.

They call only the model's sampling interface (`sample`), never its training internals. The
classifier-based metrics callback lives with the classifier (src/classifier/callback.py)."""

from src.callbacks.checkpoints import BestCheckpoint, LastCheckpoint
from src.callbacks.denoising import DenoisingStrip
from src.callbacks.fid import FIDCallback
from src.callbacks.samples import SampleGrid
from src.callbacks.sampling_time import SamplingTime
from src.callbacks.throughput import ImagesPerSecond, StepWindow

__all__ = [
    "BestCheckpoint",
    "DenoisingStrip",
    "FIDCallback",
    "ImagesPerSecond",
    "LastCheckpoint",
    "SampleGrid",
    "SamplingTime",
    "StepWindow",
]
