"""ganlab: train and study GANs on CIFAR-10 with PyTorch Lightning and Hydra."""

from src.utils.quiet import quiet_known_messages
from src.utils.resolvers import register_resolvers

register_resolvers()
quiet_known_messages()
