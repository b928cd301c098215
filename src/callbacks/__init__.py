"""Lightning callbacks of a GAN run: sample grids, images per second, FID/KID, last.ckpt and stops.

They call only the model's sampling interface (`sample`), never its training internals. The
classifier-based metrics callback lives with the classifier (src/classifier/callback.py)."""

from src.callbacks.checkpoints import BestCheckpoint, LastCheckpoint
from src.callbacks.fid import FIDCallback
from src.callbacks.samples import SampleGrid
from src.callbacks.throughput import ImagesPerSecond, StepWindow

__all__ = ["BestCheckpoint", "FIDCallback", "LastCheckpoint", "ImagesPerSecond", "SampleGrid", "StepWindow"]
