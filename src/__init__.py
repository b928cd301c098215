"""ganlab: train and study GANs on CIFAR-10 with PyTorch Lightning and Hydra.

Importing it installs nothing: the entry points (`python -m src.<name>`) set up the console and the
config resolvers themselves (src/run/entry.py)."""
