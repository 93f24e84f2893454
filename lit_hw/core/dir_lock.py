"""One live process per run dir and per sweep dir: an ``flock`` on ``<dir>/.lit_hw.lock``.

Two commands started into one ``hydra.sweep.dir`` used to both run and mix their files. Now the first
takes the dir's lock before it writes anything and the second is refused in one line that names the
owner. The kernel drops an flock when its process ends, however it ends (a crash, SIGKILL, a lost
terminal), so a dead process never leaves a dir locked. The lock file keeps the owner's pid and
command for that line; its content is only ever shown, never run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
from pathlib import Path

from lit_hw.core.errors import UserError

LOCK_FILE = ".lit_hw.lock"
# dir -> the open lock file's descriptor, held for as long as this process works in that dir
_held: dict[Path, int] = {}


class DirInUse(UserError):
    """Another live process works in this dir: nothing here was written."""


def _owner(fd: int) -> str:
    """What the lock's owner wrote about itself, on one line."""
    try:
        text = os.pread(fd, 600, 0).decode(errors="replace")
    except OSError:
        return "owner unknown"
    return " ".join(text.split())[:300] or "owner unknown"


def lock_dir(folder: str | os.PathLike, what: str) -> None:
    """Hold ``folder``'s lock for the rest of this process (or until ``release_dir``); ``what`` names the
    setting the user gave (``hydra.sweep.dir``) for the refusal line. DirInUse if a live process holds it."""
    folder = Path(folder).resolve()
    if folder in _held:
        return
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = _owner(fd)
        os.close(fd)
        raise DirInUse(
            f"{what}={folder} is in use by another lit_hw process ({owner}); wait for it to end, or give another {what}"
        ) from None
    os.ftruncate(fd, 0)
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    os.pwrite(fd, f"pid {os.getpid()}: {command[:150]}{'...' if len(command) > 150 else ''}\n".encode(), 0)
    _held[folder] = fd


def release_dir(folder: str | os.PathLike) -> None:
    fd = _held.pop(Path(folder).resolve(), None)
    if fd is not None:
        os.close(fd)  # closing the descriptor releases the flock


@contextlib.contextmanager
def dir_locked(folder: str | os.PathLike, what: str):
    """``folder`` locked for the block; a lock this process already held stays held after it."""
    already = Path(folder).resolve() in _held
    lock_dir(folder, what)
    try:
        yield
    finally:
        if not already:
            release_dir(folder)


def holder(folder: str | os.PathLike) -> str | None:
    """The owner line of a live process holding ``folder``'s lock, or None (free, never locked, or ours)."""
    folder = Path(folder).resolve()
    path = folder / LOCK_FILE
    if folder in _held or not path.is_file():
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _owner(fd)
    finally:
        os.close(fd)  # also drops the shared lock taken just to look
    return None


def refuse_if_held_above(folder: str | os.PathLike, what: str) -> None:
    """DirInUse if a live process holds ``folder`` or a dir above it (a run dir inside a running sweep)."""
    folder = Path(folder).resolve()
    for above in (folder, *folder.parents):
        owner = holder(above)
        if owner:
            where = "" if above == folder else f" (inside {above})"
            raise DirInUse(
                f"{what}={folder}{where} is in use by another lit_hw process ({owner}); wait for it to end, "
                f"or give another {what}"
            )
