"""Hydra launchers that lit_hw adds: ``hydra/launcher=gpu_pool`` (one fresh process per job).

Hydra instantiates a launcher only if its class lives in the ``hydra_plugins``
namespace package (hydra/core/plugins.py refuses any other ``_target_``). That
package must not sit at the repo top level, so ours lives under
``plugin_root/hydra_plugins`` and ``register_hydra_plugins()`` puts
``plugin_root`` on ``sys.path`` before Hydra scans for plugins; the namespace
package then merges it with installed plugins (Optuna, submitit, Ray).
"""

from __future__ import annotations

import sys
from pathlib import Path

PLUGIN_ROOT = str(Path(__file__).resolve().parent / "plugin_root")
# a feature package above sweeps may bring its own launcher the same way, in <its folder>/plugin_root
# (lit_hw/stacked: hydra/launcher=stacked); found by place, so that sweeps imports nothing above it
PLUGIN_ROOTS = [PLUGIN_ROOT, *sorted(str(p) for p in Path(__file__).resolve().parents[2].glob("*/plugin_root"))]


def register_hydra_plugins() -> None:
    """Make ``hydra_plugins.lit_hw_launchers`` (and the other roots' plugins) importable; call before
    ``@hydra.main`` runs."""
    for root in PLUGIN_ROOTS:
        if root not in sys.path:
            sys.path.append(root)
