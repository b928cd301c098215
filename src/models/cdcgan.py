"""Class-conditional DCGAN: the label joins z in G, and D is a projection discriminator.

G embeds the label and concatenates it to z (Mirza & Osindero's conditioning, on a DCGAN body).
D follows Miyato & Koyama (2018): logit = psi(phi(x)) + <embed(y), phi(x)>, where phi(x) are the
DCGAN discriminator's last features and psi its final linear map; the label only enters through the
inner product, which is what makes the projection discriminator train stably.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from src.core.checks import positive_int
from src.models.dcgan import DCGAN_INIT_STD, DCGANDiscriminator, DCGANGenerator


class ConditionalDCGANGenerator(nn.Module):
    """(z [B, latent_dim], labels [B]) -> image [B, channels, resolution, resolution] in [-1, 1]."""

    def __init__(
        self,
        latent_dim: int = 100,
        num_classes: int = 10,
        embed_dim: int = 50,
        base_width: int = 64,
        resolution: int = 32,
        channels: int = 3,
    ):
        super().__init__()
        self.latent_dim = positive_int(latent_dim, "model.latent_dim")
        self.num_classes = positive_int(num_classes, "model.generator.num_classes")
        positive_int(embed_dim, "model.generator.embed_dim")
        self.embed = nn.Embedding(num_classes, embed_dim)
        nn.init.normal_(self.embed.weight, 0.0, 1.0)  # same scale as z, so neither drowns the other
        self.body = DCGANGenerator(latent_dim + embed_dim, base_width, resolution, channels)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        """labels [B] in [0, num_classes); None draws them uniformly, as an unconditional G would."""
        if labels is None:
            labels = torch.randint(0, self.num_classes, (z.shape[0],), device=z.device)
        return self.body(torch.cat([z, self.embed(labels)], dim=1))


class ProjectionDiscriminator(nn.Module):
    """(image, labels [B]) -> one logit per image [B]: psi(phi(x)) + <embed(y), phi(x)>."""

    def __init__(
        self,
        num_classes: int = 10,
        base_width: int = 64,
        resolution: int = 32,
        channels: int = 3,
        norm: str = "batch",
    ):
        super().__init__()
        self.num_classes = positive_int(num_classes, "model.discriminator.num_classes")
        self.body = DCGANDiscriminator(base_width, resolution, channels, norm)
        self.embed = nn.Embedding(num_classes, self.body.feature_dim)
        nn.init.normal_(self.embed.weight, 0.0, DCGAN_INIT_STD)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        features = self.body.features(x)
        psi = self.body.net[-1](features).flatten()
        projection = (self.embed(labels) * features.flatten(1)).sum(dim=1)
        return psi + projection
