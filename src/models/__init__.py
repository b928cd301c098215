"""Plain nn.Modules: generators and discriminators, built from a few numbers."""

from src.models.cdcgan import ConditionalDCGANGenerator, ProjectionDiscriminator
from src.models.classifier import CourseCNN
from src.models.dcgan import DCGANDiscriminator, DCGANGenerator
from src.models.mlp import MLPDiscriminator, MLPGenerator

__all__ = [
    "ConditionalDCGANGenerator",
    "CourseCNN",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "ProjectionDiscriminator",
]
