"""Seed derivation: every random draw is seeded from (run seed, image id, spec, severity).

Seeds are derived by hashing, not by drawing from a shared generator, so a result never depends
on the order in which images, cells or workers are processed.
"""

from __future__ import annotations

import hashlib


def derive_seed(*parts: object) -> int:
    """A 63-bit seed from any printable parts, stable across processes and platforms."""
    text = "\x1f".join(repr(p) if not isinstance(p, str) else p for p in parts)
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def corruption_seed(run_seed: int, image_id: str, spec_name: str, severity: float) -> int:
    """The seed of one corrupted image: (run seed, image id, spec, severity), as the design fixes."""
    return derive_seed(int(run_seed), image_id, spec_name, float(severity))
