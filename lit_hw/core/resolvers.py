"""OmegaConf resolvers used by lit_hw's configs; registered when lit_hw.train is imported."""

from __future__ import annotations

import hashlib

from omegaconf import OmegaConf


def short_name(text: str, max_chars: int = 80) -> str:
    """``text`` if it fits, else its head plus a hash of the whole, so names stay unique.

    Sweep job dirs are named after their overrides; a long override list would pass the
    255-byte file-name limit of most filesystems.
    """
    text = str(text)
    if len(text) <= max_chars:
        return text
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"{text[: max_chars - 9]}~{digest}"


def register_resolvers() -> None:
    if not OmegaConf.has_resolver("lit_hw.short"):
        OmegaConf.register_new_resolver("lit_hw.short", short_name)
