"""Where lit_hw's own Hydra configs are: the one answer every entry point's ``@hydra.main`` uses.

The repo's top-level ``conf/`` is the single source. A wheel carries a copy of it inside the package,
as ``lit_hw/conf/`` (setup.py's build step copies it there), so an installed lit_hw runs from any
folder; a clone, editable or not, reads ``conf/`` itself, so an edit there counts at once. A user's
own configs come on top with ``--config-dir <their conf>`` or ``hydra.searchpath``.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# an installed wheel: the copy that setup.py's build step puts into the package
PACKAGED = PACKAGE_DIR / "conf"
# a clone: conf/ beside the lit_hw/ folder
SOURCE = PACKAGE_DIR.parent / "conf"


def config_dir() -> str:
    """The absolute path of lit_hw's config dir: the packaged copy when there is one (an installed
    wheel), else the clone's conf/. Absolute, so Hydra reads it wherever the command starts."""
    return str(PACKAGED if (PACKAGED / "train.yaml").is_file() else SOURCE)
