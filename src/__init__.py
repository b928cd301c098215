"""ganlab: train and study GANs on CIFAR-10 with PyTorch Lightning and Hydra."""
