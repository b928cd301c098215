"""DataModules that hold a whole image set as one uint8 tensor and serve shuffled batches from it."""

from src.data.base import ShuffledBatches, TensorImageDataModule
from src.data.cifar10 import CIFAR10DataModule
from src.data.image_folder import ImageFolderDataModule
from src.data.synthetic import SyntheticDataModule

__all__ = [
    "CIFAR10DataModule",
    "ImageFolderDataModule",
    "ShuffledBatches",
    "SyntheticDataModule",
    "TensorImageDataModule",
]
