"""Every Lightning callback of a run: sample grids and the denoising strip, images per second and
sampling time, FID/KID, the classifier metrics, the checkpoints (last, periodic, best) with the stop
signals, and the moment training starts. They call the generative interface (src/generative/module.py),
never a model's training internals."""

from src.callbacks.checkpoints import BestCheckpoint, LastCheckpoint
from src.callbacks.classifier_metrics import ClassifierMetricsCallback
from src.callbacks.fid import FIDCallback
from src.callbacks.grids import DenoisingStrip, SampleGrid
from src.callbacks.run_start import TrainingStarts
from src.callbacks.timing import ImagesPerSecond, SamplingTime

__all__ = [
    "BestCheckpoint",
    "ClassifierMetricsCallback",
    "DenoisingStrip",
    "FIDCallback",
    "ImagesPerSecond",
    "LastCheckpoint",
    "SampleGrid",
    "SamplingTime",
    "TrainingStarts",
]
