"""Sample-quality metrics: the FID network, cached reference statistics, FID/KID/IS, classifier metrics."""
