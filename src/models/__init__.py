"""Plain nn.Modules: generators, discriminators, the DDPM U-Net and the course classifier net.

Each net checks its own arguments; none knows of Lightning, losses, training or data."""

from src.models.biggan import BigGANDiscriminator, BigGANGenerator
from src.models.cdcgan import ConditionalDCGANGenerator, ProjectionDiscriminator
from src.models.course_cnn import CourseCNN
from src.models.dcgan import DCGANDiscriminator, DCGANGenerator
from src.models.mlp import MLPDiscriminator, MLPGenerator
from src.models.resnet import SNGANDiscriminator, SNGANGenerator
from src.models.unet import UNet

__all__ = [
    "BigGANDiscriminator",
    "BigGANGenerator",
    "ConditionalDCGANGenerator",
    "CourseCNN",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
    "ProjectionDiscriminator",
    "SNGANDiscriminator",
    "SNGANGenerator",
    "UNet",
]
