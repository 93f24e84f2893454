"""Issue 16, items 9-12: bad input is one ``error:`` line, exit status 2, no traceback, in the places
that still gave more: a bad value in one job of a multirun (basic launcher and gpu_pool), run dirs
Hydra's grammar cannot read, a training split too small to split, terminal colour codes in an error
line, and a CPU run that quietly starts several processes.

The CLI cases start together in one module fixture (each process spends seconds importing torch and
Lightning); the checks below them run in-process.
"""

from __future__ import annotations

import json
import logging
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from lit_hw.config.cli import quote_path_overrides, refuse_unreadable_overrides, report_user_errors
from lit_hw.core.errors import ConfigError, DataError, UserError, one_line, print_error
from lit_hw.data.mnist import resolve_val_count
from lit_hw.run.build import check_config
from tests.helpers.cli import ROOT, run_cli
from tests.helpers.mnist_files import write_random_mnist

RED, RESET = "\x1b[31m", "\x1b[0m"
FAST = ["model=linear", "trainer.max_epochs=1", "trainer.limit_train_batches=2", "logger=none", "test=false"]
BAD_LR = "optim.lr='abc' must be a positive finite number"


@pytest.fixture(scope="module")
def results(random_mnist_dir, tmp_path_factory) -> dict:
    """Run each CLI case once; return {case id: (CompletedProcess, the dir it ran in)}."""
    base = tmp_path_factory.mktemp("one_line")
    # one training image, in a dir whose name carries a colour code: the error line quotes the path
    one_image = write_random_mnist(base / f"one{RED}image{RESET}", n_train=1, n_test=20)
    data = ["data.source=local", f"data.data_dir={random_mnist_dir}"]
    crash = ["+callbacks.fail_at._target_=lit_hw.callbacks.fault_injection.FailAtEpoch", "+callbacks.fail_at.epoch=0"]
    pool = ["hydra/launcher=gpu_pool", "hydra.launcher.cpu_slots=2"]
    # (arguments, the dir the case writes); a sweep's dir is given with hydra.sweep.dir, a run's with hydra.run.dir
    cases = {
        "sweep_basic": (["-m", *data, *FAST, "optim.lr=0.1,abc"], base / "sweep_basic"),
        # a space and a non-ASCII letter in the sweep dir: gpu_pool hands it on to each job's process
        "sweep_gpu_pool": (["-m", *pool, *data, *FAST, "optim.lr=0.1,abc"], base / "sweep pool ü"),
        # job 0 crashes (a bug: its traceback stays), job 1 refuses a bad value
        "sweep_crash_and_bad_value": (["-m", *data, *FAST, *crash, "optim.lr=0.1,abc"], base / "sweep_crash"),
        # a space, a non-ASCII letter and a '=' in a dir that does not exist yet
        "run_dir_as_written": ([*data, *FAST], base / "my runs" / "ü=1"),
        "unreadable_override": ([*data, *FAST, "optim.lr=("], base / "unreadable"),
        "one_training_image": (["data.source=local", f"data.data_dir={one_image}", *FAST], base / "one_image_run"),
    }

    def run(case):
        case_id, (arguments, folder) = case
        key = "hydra.sweep.dir" if arguments[0] == "-m" else "hydra.run.dir"
        return case_id, (run_cli("lit_hw.train", *arguments, f"{key}={folder}", check=False, timeout=300), folder)

    with ThreadPoolExecutor(max_workers=3) as executor:
        return dict(executor.map(run, cases.items()))


def error_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    """The one 'error: ...' line of a run refused with exit status 2 and no traceback."""
    assert proc.returncode == 2, f"exit {proc.returncode}; stderr:\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = error_lines(proc)
    assert len(lines) == 1 and proc.stderr.strip() == lines[0], proc.stderr[-3000:]
    return lines[0]


def job_statuses(sweep_dir: Path) -> dict[str, str]:
    return {job.name: json.loads((job / "metrics.json").read_text())["status"] for job in sweep_dir.glob("[0-9]_*")}


# -- 9: a bad value in one job of a multirun -------------------------------------------------------------


@pytest.mark.slow  # shares the CLI batch
@pytest.mark.parametrize("case", ["sweep_basic", "sweep_gpu_pool"])
def test_a_bad_value_in_one_job_is_one_line_naming_the_job_and_exit_2(results, case):
    proc, sweep_dir = results[case]
    line = one_error_line(proc)
    assert line.startswith("error: job #1 (optim.lr=abc): ") and BAD_LR in line
    assert job_statuses(sweep_dir) == {"0_optim.lr=0.1": "ok", "1_optim.lr=abc": "failed"}
    assert (sweep_dir / "0_optim.lr=0.1" / "checkpoints" / "last.ckpt").is_file()  # the good job's results are kept
    assert "failed" in (sweep_dir / "summary.md").read_text()  # the end-of-sweep summary was written


@pytest.mark.slow  # shares the CLI batch
def test_a_crash_beside_a_bad_value_keeps_its_traceback_and_exit_1(results):
    proc, sweep_dir = results["sweep_crash_and_bad_value"]
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert error_lines(proc) == [f"error: job #1 (optim.lr=abc): {BAD_LR}, e.g. 0.001"]
    assert "InjectedFault" in proc.stderr  # a bug, not bad input: Hydra shows where it happened
    assert job_statuses(sweep_dir) == {"0_optim.lr=0.1": "failed", "1_optim.lr=abc": "failed"}


# -- 10: paths as written, overrides Hydra cannot read, a training split too small ----------------------


@pytest.mark.slow  # shares the CLI batch
def test_a_run_dir_with_a_space_a_non_ascii_letter_and_an_equals_sign_works_as_written(results):
    proc, run_dir = results["run_dir_as_written"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "ok"


@pytest.mark.slow  # shares the CLI batch
def test_an_override_hydra_cannot_read_is_one_line_showing_the_quoting_that_works(results):
    line = one_error_line(results["unreadable_override"][0])
    assert "optim.lr=(" in line and "extraneous input '('" in line and """quote it: "optim.lr='('\"""" in line


@pytest.mark.slow  # shares the CLI batch
def test_one_training_image_is_one_line_naming_the_sizes(results):
    line = one_error_line(results["one_training_image"][0])
    assert "has 1 image" in line and "at least 2" in line and "data.val_size='auto'" in line
    assert "MNIST/raw" in line  # where the files are


def test_quote_path_overrides_quotes_what_hydra_would_not_read_as_the_path(tmp_path):
    job = tmp_path / "1_optim.lr=0.1,seed=2"
    job.mkdir()
    assert quote_path_overrides(
        [
            "hydra.run.dir=/no/such/my runs/ü",  # a dir to be made: quoted on what the parser says
            "hydra.sweep.dir=/no/such/a=b,c",  # Hydra cannot sweep its own dirs: the ',' is the path's
            "data.data_dir=/no/such/#1",
            f"resume={job}",
            "resume=null",
            "data.data_dir=/a,/b",  # a sweep over two data dirs stays one
            "hydra.run.dir=/plain/path",
            "optim.lr=(",  # not a path: left for Hydra, and refuse_unreadable_overrides
        ]
    ) == [
        "hydra.run.dir='/no/such/my runs/ü'",
        "hydra.sweep.dir='/no/such/a=b,c'",
        "data.data_dir='/no/such/#1'",
        f"resume='{job}'",
        "resume=null",
        "data.data_dir=/a,/b",
        "hydra.run.dir=/plain/path",
        "optim.lr=(",
    ]


@pytest.mark.parametrize(
    "override, said, working",
    [
        ("optim.lr=(", "extraneous input '('", """"optim.lr='('\""""),
        # not an existing path, and the ',' may be a sweep: not quoted for the user, but the line shows how
        ("resume=/no/such=dir,x", "mismatched input '='", """"resume='/no/such=dir,x'\""""),
        # the shell line escapes what is special inside double quotes
        ("note=it's $5", """it cannot read "'" outside quotes""", """"note='it\\\\'s \\$5'\""""),
    ],
)
def test_refuse_unreadable_overrides_gives_one_line(capsys, override, said, working):
    with pytest.raises(SystemExit) as stopped:
        refuse_unreadable_overrides(["lit_hw.train", "-m", override])
    assert stopped.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: Hydra cannot read the override {override} ({said})")
    assert line.endswith(f"quote it: {working}")
    typed = subprocess.run(["bash", "-c", f"printf %s {working}"], capture_output=True, text=True).stdout
    refuse_unreadable_overrides(["lit_hw.train", typed])  # what the shell hands over, Hydra reads


def test_refuse_unreadable_overrides_lets_good_overrides_and_flags_through():
    refuse_unreadable_overrides(["lit_hw.train", "-m", "seed=1,2", "hydra/launcher=gpu_pool", "~tags", "x='a=b'"])
    refuse_unreadable_overrides(["lit_hw.train", "--cfg"])  # a bad flag is Hydra's to report


def test_a_fraction_that_holds_out_the_whole_split_is_refused():
    with pytest.raises(ConfigError, match=r"data.val_size=0.9 holds out 2 of the 2 training images.*from 1 to 1"):
        resolve_val_count(0.9, 2)
    with pytest.raises(DataError, match="has 0 images: at least 2"):
        resolve_val_count("auto", 0)
    assert resolve_val_count("auto", 2) == 1


# -- 11: no colour codes in an error line ----------------------------------------------------------------


@pytest.mark.slow  # shares the CLI batch
def test_a_colour_code_in_a_value_does_not_reach_the_error_line(results):
    proc, _ = results["one_training_image"]
    line = one_error_line(proc)
    assert "oneimage/MNIST/raw" in line and "\x1b" not in proc.stderr


def test_print_error_prints_one_plain_line(capsys):
    print_error(f"{RED}data.data_dir{RESET}=\x1b]8;;file:///x\x07/x\x1b]8;;\x07 is\nmissing\x07 \x9b1mfiles")
    assert capsys.readouterr().err == "error: data.data_dir=/x is missing files\n"
    assert one_line("  a\r\n  b\tc ") == "a b\tc"


def test_a_user_error_carrying_colour_codes_is_printed_plain(capsys):
    @report_user_errors
    def main():
        raise UserError(f"{RED}rich{RESET} said no")

    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2 and capsys.readouterr().err == "error: rich said no\n"


# -- 12: several CPU devices are several processes ------------------------------------------------------


def test_several_cpu_devices_are_announced_in_one_line(random_mnist_dir, caplog):
    def warnings(*overrides: str) -> list[str]:
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose("train", overrides=["data.source=local", f"data.data_dir={random_mnist_dir}", *overrides])
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            check_config(cfg)
        return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]

    (line,) = [m for m in warnings("trainer=cpu", "trainer.devices=3") if "trainer.devices" in m]
    assert "trainer.devices=3" in line and "accelerator=cpu" in line and "starts 3 training processes" in line
    assert "trainer.devices=1" in line  # how to get one
    assert not [m for m in warnings("trainer=cpu") if "trainer.devices" in m]
