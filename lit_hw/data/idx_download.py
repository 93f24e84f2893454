"""Download a dataset's four IDX .gz files from a list of mirrors (``data.mirrors``), checking each file's md5.

Mirrors are tried in order for each file; a file that fails on every mirror is one line naming
each URL and its fault (an HTTP status, a refused connection, a checksum that does not match).
The .gz files are kept as they come: lit_hw.data.idx_files reads them directly.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from lit_hw.core.errors import DataError
from lit_hw.data.idx_datasets import IdxDataset
from lit_hw.data.idx_files import ALL_FILES, find

TIMEOUT_S = 60


class Fault(Exception):
    """Why one URL did not give a usable file."""


def expected_md5(md5, filename: str, dataset: IdxDataset) -> str | None:
    """The checksum ``data.md5`` asks for: 'official' (the dataset's own), null (none) or {<file>.gz: <md5>}."""
    if md5 == "official":
        return dataset.md5[filename]
    if md5 is None:
        return None
    if isinstance(md5, dict) and filename in md5:
        return str(md5[filename])
    raise DataError(
        f"data.md5 has no checksum for {filename}: give all four files, 'official', or null to skip the check"
    )


def fetch(url: str, target: Path, md5: str | None, checked_against: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            data = response.read()
    except urllib.error.HTTPError as err:
        raise Fault(f"HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise Fault(str(err.reason)) from None
    except OSError as err:  # a timeout, a reset connection
        raise Fault(str(err) or type(err).__name__) from None
    if md5 is not None:
        actual = hashlib.md5(data).hexdigest()
        if actual != md5:
            raise Fault(
                f"md5 {actual} does not match {md5} ({checked_against}; data.md5={{<file>: <md5>}} for other files, "
                "data.md5=null to skip the check)"
            )
    partial = target.with_name(target.name + ".part")
    partial.write_bytes(data)
    os.replace(partial, target)


def download_idx(dataset: IdxDataset, data_dir: str | os.PathLike, mirrors=None, md5="official") -> None:
    """Fetch every file that data_dir does not hold yet into the dataset's raw folder (mirrors=None: its own)."""
    mirrors = dataset.mirrors if mirrors is None else mirrors
    if isinstance(mirrors, str) or not mirrors:
        raise DataError(f"data.mirrors={mirrors!r} must be a non-empty list of base URLs, e.g. {list(dataset.mirrors)}")
    folder = dataset.raw_folder(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    checked_against = f"the official {dataset.name} checksum" if md5 == "official" else "data.md5"
    for name in ALL_FILES:
        if find(folder, name) is not None:
            continue
        filename = f"{name}.gz"
        checksum = expected_md5(md5, filename, dataset)
        faults = []
        for mirror in mirrors:
            url = f"{str(mirror).rstrip('/')}/{filename}"
            try:
                fetch(url, folder / filename, checksum, checked_against)
                break
            except Fault as fault:
                faults.append(f"{url}: {fault}")
        else:
            raise DataError(f"could not download {filename}: " + "; ".join(faults))
