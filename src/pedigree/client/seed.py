"""Seeding the usual random number generators from one seed."""

from __future__ import annotations

import importlib.util
import os
import random
import sys

__all__ = ["resolve_seed", "seed_everything"]


def resolve_seed(seed: int | None) -> int | None:
    if seed is not None:
        return int(seed)
    env = os.environ.get("PEDIGREE_SEED")
    return int(env) if env and env.lstrip("-").isdigit() else None


def seed_everything(seed: int) -> list[str]:
    """Seed ``random``, NumPy's global generator and PyTorch when in use; return what was seeded."""
    seeded = ["random"]
    random.seed(seed)
    if "numpy" in sys.modules or importlib.util.find_spec("numpy") is not None:
        import numpy

        numpy.random.seed(seed % 2**32)
        seeded.append("numpy")
    torch = sys.modules.get("torch")  # seeding torch is worth it only if the script uses it
    if torch is not None:
        torch.manual_seed(seed)
        seeded.append("torch")
    return seeded
