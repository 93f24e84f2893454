"""data.source=download for real: an HTTP server on 127.0.0.1 serves gzip'd IDX files as a mirror
(for data=mnist, and for data=fashion_mnist and data=kmnist, which download the same way)."""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lit_hw.core.errors import DataError
from lit_hw.data.idx_datasets import FASHION_MNIST, KMNIST, MNIST
from lit_hw.data.idx_files import ALL_FILES
from lit_hw.data.mnist import FashionMNISTDataModule, KMNISTDataModule, MNISTDataModule
from tests.helpers.cli import run_cli
from tests.helpers.local_ports import free_port


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def mirror(random_mnist_dir, tmp_path_factory):
    """(base URL, md5 of each served file): the random MNIST files, gzip'd, served over HTTP; under
    broken/ the same files but one, which is an HTML page (what a misconfigured mirror serves)."""
    served = tmp_path_factory.mktemp("mirror")
    (served / "broken").mkdir()
    md5 = {}
    for name in ALL_FILES:
        data = gzip.compress((MNIST.raw_folder(random_mnist_dir) / name).read_bytes())
        (served / f"{name}.gz").write_bytes(data)
        (served / "broken" / f"{name}.gz").write_bytes(data)
        md5[f"{name}.gz"] = hashlib.md5(data).hexdigest()
    (served / "broken" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"<html>moved</html>")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", md5
    server.shutdown()


def test_download_fetches_verifies_and_reads_the_files(mirror, tmp_path):
    url, md5 = mirror
    dm = MNISTDataModule(data_dir=str(tmp_path), source="download", mirrors=[url], md5=md5, val_size=100)
    dm.setup()
    assert dm.describe() == {"dataset": "MNIST", "source": "download", "sizes": {"train": 500, "val": 100, "test": 200}}
    assert sorted(p.name for p in MNIST.raw_folder(tmp_path).iterdir()) == sorted(f"{n}.gz" for n in ALL_FILES)


def test_a_file_that_is_not_the_official_one_fails_its_checksum(mirror, tmp_path):
    url, _ = mirror
    with pytest.raises(DataError) as err:
        MNISTDataModule(data_dir=str(tmp_path), source="download", mirrors=[url]).resolve_source()
    message = str(err.value)
    assert f"{url}train-images-idx3-ubyte.gz: md5 " in message and "the official MNIST checksum" in message
    assert "\n" not in message and not list(MNIST.raw_folder(tmp_path).glob("*.gz"))  # nothing unverified is kept


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


def test_kmnist_downloads_into_its_own_folder_with_an_md5_check(mirror, tmp_path):
    url, md5 = mirror
    dm = KMNISTDataModule(data_dir=str(tmp_path), source="download", mirrors=[url], md5=md5, val_size=100)
    dm.setup()
    assert dm.describe() == {
        "dataset": "KMNIST",
        "source": "download",
        "sizes": {"train": 500, "val": 100, "test": 200},
    }
    assert sorted(p.name for p in KMNIST.raw_folder(tmp_path).iterdir()) == sorted(f"{n}.gz" for n in ALL_FILES)
    assert not MNIST.raw_folder(tmp_path).exists()


def test_fashion_mnist_checks_against_its_own_official_checksums(mirror, tmp_path):
    url, md5 = mirror
    with pytest.raises(DataError) as err:
        FashionMNISTDataModule(data_dir=str(tmp_path), source="download", mirrors=[url]).resolve_source()
    message = str(err.value)
    official = FASHION_MNIST.md5["train-images-idx3-ubyte.gz"]
    assert (
        f"{url}train-images-idx3-ubyte.gz: md5 {md5['train-images-idx3-ubyte.gz']} does not match {official}" in message
    )
    assert "the official Fashion-MNIST checksum" in message and "could not download Fashion-MNIST" in message
    assert "\n" not in message and not list(FASHION_MNIST.raw_folder(tmp_path).glob("*.gz"))


def test_a_bad_downloaded_file_is_one_line_naming_it(mirror, tmp_path):
    url, _ = mirror
    dm = FashionMNISTDataModule(data_dir=str(tmp_path), source="download", mirrors=[f"{url}broken/"], md5=None)
    with pytest.raises(DataError) as err:
        dm.setup()
    bad = FASHION_MNIST.raw_folder(tmp_path) / "t10k-labels-idx1-ubyte.gz"
    assert str(err.value).startswith(f"{bad}: not a readable gzip file") and "\n" not in str(err.value)


@pytest.mark.slow
@pytest.mark.parametrize("choice, dataset", [("mnist", MNIST), ("fashion_mnist", FASHION_MNIST)])
def test_train_with_data_source_download_from_a_mirror(mirror, tmp_path, choice, dataset):
    url, md5 = mirror
    run_dir = tmp_path / "run"
    md5_override = "{" + ",".join(f"{k}:{v}" for k, v in md5.items()) + "}"
    run_cli("lit_hw.train", f"data={choice}", "data.source=download", f"data.data_dir={tmp_path / 'data'}",
            f"data.mirrors=[{url}]", f"data.md5={md5_override}", "data.val_size=100", "model=linear",
            "trainer.max_epochs=1", "logger=none", f"hydra.run.dir={run_dir}")  # fmt: skip
    record = json.loads((run_dir / "metrics.json").read_text())
    assert record["status"] == "ok" and record["data"]["source"] == "download"
    assert record["data"]["dataset"] == dataset.name and record["data"]["sizes"]["test"] == 200
    assert len(list(dataset.raw_folder(tmp_path / "data").glob("*.gz"))) == 4
