"""Lightning callbacks: sample grids, images per second, FID/KID, classifier-based metrics."""

from src.callbacks.classifier_metrics import ClassifierMetricsCallback
from src.callbacks.fid import FIDCallback
from src.callbacks.samples import SampleGrid
from src.callbacks.throughput import ImagesPerSecond

__all__ = ["ClassifierMetricsCallback", "FIDCallback", "ImagesPerSecond", "SampleGrid"]
