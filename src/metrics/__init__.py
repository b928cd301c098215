"""Sample-quality metrics: the FID network, feature passes, cached reference statistics, FID/KID/IS and
precision/recall/density/coverage, and the registry of every logged metric's name (registry.py)."""
