"""The course's classifier room: its LightningModule, per-image augmentations and the GAN metrics read
off it (fid_cnn, class histogram/entropy/accuracy; the callback that logs them during GAN training is
src/callbacks/classifier_metrics.py). The net is src/models/course_cnn.py; the entry point
`python -m src.train_classifier`."""

from src.classifier.module import Classifier

__all__ = ["Classifier"]
