"""The Hydra internals lit_hw relies on (lit_hw/config/hydra_adapter.py): still there, and doing what
lit_hw uses them for. No module outside the adapter reaches into Hydra's private API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from lit_hw.config import hydra_adapter
from lit_hw.config.hydra_adapter import (
    args_parser,
    expand_basic_sweep,
    missing_internals,
    return_value,
    save_config,
)

PACKAGE = Path(__file__).resolve().parents[3] / "lit_hw"
ADAPTER = PACKAGE / "config" / "hydra_adapter.py"


def test_hydra_internals_that_lit_hw_uses_are_still_there():
    missing = missing_internals()
    assert not missing, (
        f"Hydra changed: {', '.join(missing)} no longer exist(s) as lit_hw/config/hydra_adapter.py uses "
        "them (the command-line check, stack members' .hydra/ files, job return values, the summary's "
        "pending jobs); update the adapter for this Hydra version"
    )


def test_a_missing_internal_is_named(monkeypatch):
    monkeypatch.setattr(hydra_adapter, "SAVE_CONFIG", "hydra.core.utils._no_such_function")
    monkeypatch.setattr(hydra_adapter, "BASIC_SWEEPER", "hydra._internal.no_such_module.BasicSweeper")
    assert missing_internals() == [
        "hydra.core.utils._no_such_function",
        "hydra._internal.no_such_module.BasicSweeper.split_arguments",
    ]


def test_private_hydra_names_only_in_the_adapter():
    used = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path == ADAPTER:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hydra"):
                private = "._" in f".{node.module}" or any(a.name.startswith("_") for a in node.names)
                if private:
                    used.append(f"{path.relative_to(PACKAGE.parent)}: from {node.module} import ...")
            elif isinstance(node, ast.Attribute) and node.attr in ("_return_value", "_save_config"):
                used.append(f"{path.relative_to(PACKAGE.parent)}: .{node.attr}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "hydra._internal" in node.value:
                used.append(f"{path.relative_to(PACKAGE.parent)}: {node.value!r}")
    assert not used, "Hydra's private API outside lit_hw/config/hydra_adapter.py:\n" + "\n".join(used)


def test_args_parser_reads_the_overrides_as_hydra_main_does():
    parsed = args_parser().parse_known_args(["-m", "optim.lr=0.1,1", "seed=2"])[0]
    assert parsed.multirun and parsed.overrides == ["optim.lr=0.1,1", "seed=2"]


def test_save_config_writes_what_omegaconf_reads_back(tmp_path):
    config = OmegaConf.create({"optim": {"lr": 0.1}, "tags": ["a"]})
    save_config(config, "config.yaml", tmp_path / ".hydra")
    assert OmegaConf.load(tmp_path / ".hydra" / "config.yaml") == config


def test_return_value_of_a_failed_job_is_its_exception_unraised(capsys):
    job = JobReturn()
    job.status, job.return_value = JobStatus.FAILED, ValueError("bad lr")
    assert isinstance(return_value(job), ValueError)
    assert capsys.readouterr().err == ""  # the public property would print Hydra's line, then raise
    with pytest.raises(ValueError):
        job.return_value  # noqa: B018


def test_basic_sweep_expands_like_hydra():
    overrides = OverridesParser.create().parse_overrides(["optim.lr=0.1,1", "seed=0,1", "model=mlp"])
    assert expand_basic_sweep(overrides) == [
        ["optim.lr=0.1", "seed=0", "model=mlp"],
        ["optim.lr=0.1", "seed=1", "model=mlp"],
        ["optim.lr=1", "seed=0", "model=mlp"],
        ["optim.lr=1", "seed=1", "model=mlp"],
    ]
