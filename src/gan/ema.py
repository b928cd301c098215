"""The EMA helpers moved to src/utils/ema.py (the diffusion module uses them too); kept importable here."""

from src.utils.ema import IMAGES_PER_KIMG, check_ema, ema_decay, update_ema_

__all__ = ["IMAGES_PER_KIMG", "check_ema", "ema_decay", "update_ema_"]
