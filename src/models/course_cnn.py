"""The course's CNN classifier: (Conv-ReLU-MaxPool) x 2, Flatten, Dense 128 (ReLU), Dense classes.

Besides classifying, its 128-d penultimate activations are the feature space of the `fid_cnn` metric
(src/classifier/metrics.py): a small, CIFAR-10-trained stand-in for Inception features.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


class CourseCNN(nn.Module):
    """image [B, channels, resolution, resolution] in [-1, 1] -> class logits [B, num_classes]."""

    def __init__(
        self,
        num_classes: int = 10,
        conv_widths: Sequence[int] = (32, 64),
        kernel_size: int = 3,
        padding: int = 0,
        hidden_dim: int = 128,
        resolution: int = 32,
        channels: int = 3,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = channels
        for out in conv_widths:
            layers += [
                nn.Conv2d(width, out, kernel_size, padding=padding),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            width = out
        self.conv = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():
            flat = self.conv(torch.zeros(1, channels, resolution, resolution)).shape[1]
        self.dense = nn.Sequential(nn.Linear(flat, hidden_dim), nn.ReLU(inplace=True))
        self.head = nn.Linear(hidden_dim, num_classes)
        self.num_classes, self.feature_dim = num_classes, hidden_dim

    def features(self, x: Tensor) -> Tensor:
        """The penultimate (Dense 128, after ReLU) activations [B, hidden_dim]."""
        return self.dense(self.conv(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
