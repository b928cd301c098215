"""Plain nn.Modules: generators and discriminators, built from a few numbers."""

from src.models.dcgan import DCGANDiscriminator, DCGANGenerator

__all__ = ["DCGANDiscriminator", "DCGANGenerator"]
