"""Lightning callbacks: sample grids, images per second, FID/KID during training."""

from src.callbacks.fid import FIDCallback
from src.callbacks.samples import SampleGrid
from src.callbacks.throughput import ImagesPerSecond

__all__ = ["FIDCallback", "ImagesPerSecond", "SampleGrid"]
