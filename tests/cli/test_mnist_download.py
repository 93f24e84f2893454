"""data.source=download for real: an HTTP server on 127.0.0.1 serves gzip'd IDX files as a mirror."""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lit_hw.core.errors import DataError
from lit_hw.data.idx_files import ALL_FILES, raw_folder
from lit_hw.data.mnist import MNISTDataModule
from tests.helpers.cli import run_cli


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def mirror(random_mnist_dir, tmp_path_factory):
    """(base URL, md5 of each served file): the random MNIST files, gzip'd, served over HTTP."""
    served = tmp_path_factory.mktemp("mirror")
    md5 = {}
    for name in ALL_FILES:
        data = gzip.compress((raw_folder(random_mnist_dir) / name).read_bytes())
        (served / f"{name}.gz").write_bytes(data)
        md5[f"{name}.gz"] = hashlib.md5(data).hexdigest()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", md5
    server.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_download_fetches_verifies_and_reads_the_files(mirror, tmp_path):
    url, md5 = mirror
    dm = MNISTDataModule(data_dir=str(tmp_path), source="download", mirrors=[url], md5=md5, val_size=100)
    dm.setup()
    assert dm.describe() == {"source": "download", "sizes": {"train": 500, "val": 100, "test": 200}}
    assert sorted(p.name for p in raw_folder(tmp_path).iterdir()) == sorted(f"{n}.gz" for n in ALL_FILES)


def test_a_file_that_is_not_the_official_one_fails_its_checksum(mirror, tmp_path):
    url, _ = mirror
    with pytest.raises(DataError) as err:
        MNISTDataModule(data_dir=str(tmp_path), source="download", mirrors=[url]).resolve_source()
    message = str(err.value)
    assert f"{url}train-images-idx3-ubyte.gz: md5 " in message and "the official MNIST checksum" in message
    assert "\n" not in message and not list(raw_folder(tmp_path).glob("*.gz"))  # nothing unverified is kept


def test_a_missing_file_and_a_refused_connection_name_the_url(mirror, tmp_path):
    url, md5 = mirror
    refused = f"http://127.0.0.1:{free_port()}/"
    mirrors = [f"{url}nowhere/", refused]
    with pytest.raises(DataError) as err:
        MNISTDataModule(data_dir=str(tmp_path), source="download", mirrors=mirrors, md5=md5).resolve_source()
    message = str(err.value)
    assert f"{url}nowhere/train-images-idx3-ubyte.gz: HTTP 404" in message
    assert f"{refused}train-images-idx3-ubyte.gz: [Errno 111] Connection refused" in message
    assert "\n" not in message


@pytest.mark.slow
def test_train_with_data_source_download_from_a_mirror(mirror, tmp_path):
    url, md5 = mirror
    run_dir = tmp_path / "run"
    md5_override = "{" + ",".join(f"{k}:{v}" for k, v in md5.items()) + "}"
    run_cli("lit_hw.train", "data.source=download", f"data.data_dir={tmp_path / 'data'}", f"data.mirrors=[{url}]",
            f"data.md5={md5_override}", "data.val_size=100", "model=linear", "trainer.max_epochs=1", "logger=none",
            f"hydra.run.dir={run_dir}")  # fmt: skip
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "ok" and record["data"]["source"] == "download"
