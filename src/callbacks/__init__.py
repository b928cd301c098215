"""Lightning callbacks: sample grids and the images-per-second meter."""

from src.callbacks.samples import SampleGrid
from src.callbacks.throughput import ImagesPerSecond

__all__ = ["ImagesPerSecond", "SampleGrid"]
