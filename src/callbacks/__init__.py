"""Lightning callbacks: sample grids, the images-per-second meter and the classifier-based metrics."""

from src.callbacks.classifier_metrics import ClassifierMetricsCallback
from src.callbacks.samples import SampleGrid
from src.callbacks.throughput import ImagesPerSecond

__all__ = ["ClassifierMetricsCallback", "ImagesPerSecond", "SampleGrid"]
