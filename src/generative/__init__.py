"""The written interface of every generative model (`GenerativeModule`, module.py) and what only the
LightningModules use: per-index noise, EMA, the non-finite guard, logging points, checkpoint reading.
A new model family subclasses GenerativeModule in a room of its own (like src/gan/, src/diffusion/)."""
