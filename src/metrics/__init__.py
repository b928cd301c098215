"""Sample-quality metrics: the FID feature network, statistics with a disk cache, FID/KID/IS."""
