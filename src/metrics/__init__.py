"""Sample-quality metrics of generators."""
