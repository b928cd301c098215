"""The course's CNN (src/models/course_cnn.py): its layers, logits and the 128-d features of fid_cnn."""

from __future__ import annotations

import torch
from torch import nn

from src.models import CourseCNN


def test_architecture_is_the_courses():
    net = CourseCNN()
    kinds = [type(m) for m in net.conv]
    assert kinds == [nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.Flatten]
    assert [type(m) for m in net.dense] == [nn.Linear, nn.ReLU] and net.dense[0].out_features == 128
    assert (net.head.in_features, net.head.out_features) == (128, 10)
    x = torch.randn(4, 3, 32, 32)
    assert tuple(net(x).shape) == (4, 10) and tuple(net.features(x).shape) == (4, 128)
    assert torch.allclose(net(x), net.head(net.features(x)))  # the logits are read off the features


def test_sizes_follow_the_arguments():
    net = CourseCNN(num_classes=4, conv_widths=[4, 8], hidden_dim=16, resolution=64, channels=1)
    x = torch.randn(2, 1, 64, 64)
    assert tuple(net(x).shape) == (2, 4) and tuple(net.features(x).shape) == (2, 16)
    assert (net.num_classes, net.feature_dim) == (4, 16)
