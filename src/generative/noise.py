"""Random inputs of generative models that depend only on (seed, sample index).

A metric, a grid and `src.generate` must draw the same image `i` for the same seed whatever their
batch size: one random stream consumed batch by batch does not (CPU `randn` fills blocks of 16, so
batches of 100 and 250 draw other numbers). Here the codes come in fixed chunks of CHUNK samples,
each chunk from its own generator seeded by a hash of (stream, seed, chunk number), so sample `i`
is always row `i % CHUNK` of chunk `i // CHUNK`. The draws run on the CPU, so they are the same on
every device.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import torch
from torch import Tensor

CHUNK = 1024  # samples per seeded chunk: large enough that drawing costs nothing next to a forward
SEED_BYTES = 8


def chunk_seed(stream: str, seed: int, chunk: int) -> int:
    """A 63-bit generator seed for one chunk of one stream ("codes", "labels") of one seed."""
    digest = hashlib.blake2b(f"{stream}:{seed}:{chunk}".encode(), digest_size=SEED_BYTES).digest()
    return int.from_bytes(digest, "big") >> 1


def _chunked(
    stream: str, seed: int, start: int, count: int, draw: Callable[[torch.Generator], Tensor]
) -> Tensor:
    parts = []
    first, last = start // CHUNK, (start + count - 1) // CHUNK
    for chunk in range(first, last + 1):
        values = draw(torch.Generator().manual_seed(chunk_seed(stream, seed, chunk)))
        lo = max(start - chunk * CHUNK, 0)
        hi = min(start + count - chunk * CHUNK, CHUNK)
        parts.append(values[lo:hi])
    return torch.cat(parts)


def index_normal(seed: int, start: int, count: int, shape: tuple[int, ...]) -> Tensor:
    """Standard normal tensors [count, *shape] for samples start .. start + count - 1 (CPU, float32)."""
    if count <= 0:
        return torch.empty(0, *shape)
    return _chunked("codes", seed, start, count, lambda g: torch.randn(CHUNK, *shape, generator=g))


def index_randint(seed: int, start: int, count: int, high: int) -> Tensor:
    """Uniform integers in [0, high) [count] for samples start .. start + count - 1 (CPU, int64)."""
    if count <= 0:
        return torch.empty(0, dtype=torch.long)
    return _chunked("labels", seed, start, count, lambda g: torch.randint(0, high, (CHUNK,), generator=g))
