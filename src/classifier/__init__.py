"""The course's classifier room: its LightningModule, per-image augmentations, the GAN metrics read off
it (fid_cnn, class histogram/entropy/accuracy) and the callback that logs them. The net itself is
src/models/course_cnn.py; the entry point is `python -m src.train_classifier`."""

from src.classifier.callback import ClassifierMetricsCallback
from src.classifier.module import Classifier

__all__ = ["Classifier", "ClassifierMetricsCallback"]
