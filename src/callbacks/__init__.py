"""Lightning callbacks that observe a run: sample grids and the denoising strip, images per second and
sampling time, FID/KID. They call only the generative interface (src/generative/module.py), never a
model's training internals. Checkpoints and stops are run features: src/run/checkpoints.py."""

from src.callbacks.fid import FIDCallback
from src.callbacks.grids import DenoisingStrip, SampleGrid
from src.callbacks.timing import ImagesPerSecond, SamplingTime

__all__ = ["DenoisingStrip", "FIDCallback", "ImagesPerSecond", "SampleGrid", "SamplingTime"]
