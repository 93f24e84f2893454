"""The MNIST datamodule: every source, auto's fallback order, the IDX layout, splits and batching."""

from __future__ import annotations

import logging

import pytest
import torch

from lit_hw.core.errors import ConfigError, DataError
from lit_hw.data import idx_files, mnist
from lit_hw.data.idx_datasets import MNIST
from lit_hw.data.mnist import MNISTDataModule, resolve_val_count
from lit_hw.data.tensor_split import EpochSeededSampler, SliceBatchSampler, TensorSplit, split_loader
from tests.helpers.mnist_files import write_random_mnist


def test_local_reads_generated_idx_in_torchvision_layout(random_mnist_dir):
    assert not idx_files.missing_files(MNIST.raw_folder(random_mnist_dir))
    dm = MNISTDataModule(data_dir=str(random_mnist_dir), source="local", val_size=100)
    dm.setup()
    assert dm.resolved_source == "local"
    assert {k: len(v) for k, v in dm.splits.items()} == {"train": 500, "val": 100, "test": 200}
    x, y = dm.splits["train"].tensors
    assert x.shape == (500, 1, 28, 28) and x.dtype == torch.float32 and y.dtype == torch.int64
    # normalized with the MNIST mean/std: uniform-noise pixels have mean ~ (0.5 - 0.1307) / 0.3081
    assert abs(x.mean().item() - (0.5 - 0.1307) / 0.3081) < 0.05
    # the test split is exactly the t10k files, in order
    from torchvision.datasets import MNIST as TorchvisionMNIST

    official = TorchvisionMNIST(str(random_mnist_dir), train=False)
    assert torch.equal(dm.splits["test"].tensors[1], official.targets)


def test_val_split_is_seeded_and_disjoint(random_mnist_dir):
    def split(seed):
        dm = MNISTDataModule(data_dir=str(random_mnist_dir), source="local", val_size=100, seed=seed)
        dm.setup()
        return dm.splits["train"].tensors[0], dm.splits["val"].tensors[0]

    train_a, val_a = split(0)
    train_b, val_b = split(0)
    _, val_c = split(1)
    assert torch.equal(val_a, val_b) and torch.equal(train_a, train_b)
    assert not torch.equal(val_a, val_c)
    # no image is in both train and val
    flat_train = {tuple(r.tolist()) for r in train_a.flatten(1)[:, :40]}
    assert not any(tuple(r.tolist()) in flat_train for r in val_a.flatten(1)[:, :40])


def test_bundled_is_real_mnist_with_fixed_splits():
    dm = MNISTDataModule(source="bundled")
    dm.setup()
    assert dm.resolved_source == "bundled"
    sizes = {k: len(v) for k, v in dm.splits.items()}
    assert sizes["test"] == mnist.BUNDLED_TEST_SIZE and sum(sizes.values()) == 5000
    assert set(dm.splits["train"].tensors[1].unique().tolist()) == set(range(10))
    again = MNISTDataModule(source="bundled")
    again.setup()
    assert torch.equal(dm.splits["test"].tensors[1], again.splits["test"].tensors[1])


def test_auto_prefers_local_files(random_mnist_dir, monkeypatch):
    monkeypatch.setattr(mnist, "download_idx", _no_download)
    dm = MNISTDataModule(data_dir=str(random_mnist_dir), source="auto")
    assert dm.resolve_source() == "local"


def test_auto_downloads_when_no_files(tmp_path, monkeypatch):
    def fake_download(dataset, data_dir, mirrors, md5):
        write_random_mnist(data_dir, n_train=120, n_test=30)

    monkeypatch.setattr(mnist, "download_idx", fake_download)
    dm = MNISTDataModule(data_dir=str(tmp_path), source="auto")
    assert dm.resolve_source() == "download"


def test_auto_falls_back_to_bundled_with_one_clear_warning(tmp_path, monkeypatch, caplog):
    def offline(dataset, data_dir, mirrors, md5):
        raise DataError("could not download train-images-idx3-ubyte.gz: https://x/: [Errno -3] Temporary failure")

    monkeypatch.setattr(mnist, "download_idx", offline)
    dm = MNISTDataModule(data_dir=str(tmp_path), source="auto")
    with caplog.at_level(logging.WARNING, logger="lit_hw.data.mnist"):
        assert dm.resolve_source() == "bundled"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "5,000 bundled" in text and "MNIST/raw" in text and "data.source=download" in text
    assert "\n" not in text and "Errno" not in text and len(text) < 300  # one short line, no error nobody asked for


def test_download_source_reports_failure(tmp_path, monkeypatch):
    def offline(dataset, data_dir, mirrors, md5):
        raise DataError("could not download train-images-idx3-ubyte.gz: https://x/: network unreachable")

    monkeypatch.setattr(mnist, "download_idx", offline)
    with pytest.raises(DataError, match="could not download MNIST"):
        MNISTDataModule(data_dir=str(tmp_path), source="download").resolve_source()


def test_local_source_names_missing_files(tmp_path):
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte"):
        MNISTDataModule(data_dir=str(tmp_path), source="local").resolve_source()


def test_bad_source_and_batch_size_are_config_errors():
    with pytest.raises(ConfigError, match="auto, local, download, bundled"):
        MNISTDataModule(source="web")
    with pytest.raises(ConfigError, match="batch_size=0"):
        MNISTDataModule(batch_size=0)


@pytest.mark.parametrize(
    "val_size, n, expected", [("auto", 60_000, 5_000), ("auto", 5_000, 417), (0.1, 1_000, 100), (250, 1_000, 250)]
)
def test_val_size_forms(val_size, n, expected):
    assert resolve_val_count(val_size, n) == expected


def test_val_size_not_smaller_than_split_is_rejected():
    with pytest.raises(ConfigError, match="data.val_size=1000"):
        resolve_val_count(1000, 1000)


def test_slice_batches_cover_the_epoch_once_and_reshuffle_per_epoch():
    split = TensorSplit(torch.arange(130).float().unsqueeze(1), torch.arange(130))
    loader = split_loader(split, batch_size=32, shuffle=True, seed=3)
    epoch0 = torch.cat([y for _, y in loader])
    assert sorted(epoch0.tolist()) == list(range(130))
    assert [len(y) for _, y in loader] == [32, 32, 32, 32, 2]
    loader.batch_sampler.set_epoch(1)
    epoch1 = torch.cat([y for _, y in loader])
    assert not torch.equal(epoch0, epoch1)
    loader.batch_sampler.set_epoch(0)
    assert torch.equal(torch.cat([y for _, y in loader]), epoch0)  # same (seed, epoch) -> same order


def test_distributed_sampler_still_partitions_the_data():
    """Under DDP Lightning rebuilds our batch sampler around a DistributedSampler."""
    from torch.utils.data import DistributedSampler

    split = TensorSplit(torch.zeros(100, 1), torch.arange(100))
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(split, num_replicas=2, rank=rank, shuffle=True, seed=0)
        batches = SliceBatchSampler(sampler, batch_size=16, drop_last=False)
        seen += [i for batch in batches for i in batch]
    assert sorted(seen) == list(range(100))
    assert isinstance(split_loader(split, 16, shuffle=True).batch_sampler.sampler, EpochSeededSampler)


def _no_download(dataset, data_dir, mirrors, md5):
    raise AssertionError("auto must not download when local files exist")


def gzip_copy(src_dir, dst_dir, names=idx_files.ALL_FILES):
    import gzip

    folder = MNIST.raw_folder(dst_dir)
    folder.mkdir(parents=True)
    for name in names:
        (folder / f"{name}.gz").write_bytes(gzip.compress((MNIST.raw_folder(src_dir) / name).read_bytes()))
    return dst_dir


@pytest.mark.parametrize("source", ["local", "auto"])
def test_gzipped_idx_files_are_read_like_raw_ones(random_mnist_dir, tmp_path, source, monkeypatch):
    monkeypatch.setattr(mnist, "download_idx", _no_download)
    gz_dir = gzip_copy(random_mnist_dir, tmp_path / "gz")
    raw, gz = (
        MNISTDataModule(data_dir=str(random_mnist_dir), source="local"),
        MNISTDataModule(data_dir=str(gz_dir), source=source),
    )
    gz.check_before_setup()
    for dm in (raw, gz):
        dm.setup("fit")
    assert gz.describe()["source"] == "local"
    for split in ("train", "val", "test"):
        for a, b in zip(raw.splits[split].tensors, gz.splits[split].tensors):
            assert torch.equal(a, b)


def test_auto_with_some_files_missing_is_an_error_not_a_fallback(random_mnist_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "download_idx", _no_download)
    partial = gzip_copy(random_mnist_dir, tmp_path / "partial", names=idx_files.ALL_FILES[:3])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte") as err:
        MNISTDataModule(data_dir=str(partial), source="auto").check_before_setup()
    assert "data.source=auto" in str(err.value)


def test_a_gz_file_that_is_not_gzip_is_named(random_mnist_dir, tmp_path):
    bad = gzip_copy(random_mnist_dir, tmp_path / "bad")
    (MNIST.raw_folder(bad) / "train-labels-idx1-ubyte.gz").write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\.gz: not a readable gzip file"):
        MNISTDataModule(data_dir=str(bad), source="auto").check_before_setup()
