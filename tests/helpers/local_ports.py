"""Ports on 127.0.0.1 for the tests' own servers (and for addresses where nothing listens)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on right now: the OS picks it, the probe socket lets it go again."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
