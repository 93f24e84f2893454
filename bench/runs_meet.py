"""Load test where runs meet: 8 single runs and 3 sweeps started at once, some into the same dirs, some
killed with SIGTERM or SIGKILL, then resumed; every finished result compared with an uninterrupted run.

    python -m bench.runs_meet [--epochs 4] [--train-images 3000]

Started together (each a fresh ``python -m lit_hw.train``, in its own process group; sweeps A and C
take their dirs first):
  single runs r0..r5 into their own dirs, r6 into r0's dir and r7 into r1's (one of each pair is refused);
  sweep A on gpu_pool (seed=1,2), sweep B on the basic launcher into A's dir (one of the two is
  refused), sweep C on the basic launcher (seed=3,4) into its own dir.
Once the first epoch of each victim is done: SIGTERM to r2 and to sweep A's own process (not its group),
SIGKILL to r3 and to sweep C's group. Then every interrupted or killed run is resumed (``resume=<dir>``
in place, ``resume_sweep=true`` for sweeps), and a clean run per seed gives the reference numbers.

Printed: processes started, refused (with their one line), interrupted, killed, resumed; for every run
and sweep job its final metrics against the uninterrupted run of the same seed (equal, to the last
digit, on CPU); and the lit_hw processes still alive afterwards (``pgrep -f <bench dir>``: none).
Exit status 1 if a result is missing or differs, or a process is left.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lit_hw.core.dir_lock import holder
from tests.helpers.mnist_files import write_random_mnist

COMPARED = ("val/acc_best", "test/acc", "test/loss", "train/loss")


def command(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "lit_hw.train", *args]


def common(data_dir: Path, epochs: int) -> list[str]:
    return ["model=mlp", "model.hidden_sizes=[64]", "data.batch_size=16", f"trainer.max_epochs={epochs}", "trainer=cpu",
            "logger=none", "callbacks.progress_bar.refresh_rate=0", "data.source=local", f"data.data_dir={data_dir}"]  # fmt: skip


def start(name: str, args: list[str], logs: Path) -> subprocess.Popen:
    out = open(logs / f"{name}.log", "w")  # noqa: SIM115 (closed with the process, in finish)
    proc = subprocess.Popen(command(args), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_file = out
    proc.name = name
    return proc


def epochs_done(run_dir: Path) -> int:
    try:
        return len(json.loads((run_dir / "metrics.json").read_text()).get("history") or [])
    except (OSError, ValueError):
        return 0


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def error_lines(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if line.startswith("error:")]


def finals(run_dir: Path) -> dict | None:
    try:
        record = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    return {k: record["final"].get(k) for k in COMPARED} if record.get("status") == "ok" else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train-images", type=int, default=3000)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="lit_hw_runs_meet_"))
    logs = root / "logs"
    logs.mkdir()
    data = write_random_mnist(root / "data", n_train=args.train_images, n_test=500)
    base = common(data, args.epochs)
    runs = root / "runs"
    single = {f"r{i}": [*base, f"seed={i % 4}", f"hydra.run.dir={runs / f'r{i}'}"] for i in range(6)}
    single["r6"] = [*base, "seed=0", f"hydra.run.dir={runs / 'r0'}"]  # r0's dir
    single["r7"] = [*base, "seed=1", f"hydra.run.dir={runs / 'r1'}"]  # r1's dir
    sweep_a, sweep_c = root / "sweep_a", root / "sweep_c"
    sweeps = {
        "A": ["-m", "hydra/launcher=gpu_pool", "hydra.launcher.cpu_slots=2", *base, "seed=1,2", f"hydra.sweep.dir={sweep_a}"],
        "B": ["-m", *base, "seed=1,2", f"hydra.sweep.dir={sweep_a}"],  # A's dir
        "C": ["-m", *base, "seed=3,4", f"hydra.sweep.dir={sweep_c}"],
    }  # fmt: skip

    started = time.perf_counter()
    # A and C first, so that it is B that meets a live sweep (and A, on gpu_pool, gets the SIGTERM);
    # the rest start while those two are still importing torch
    procs = {name: start(name, sweeps[name], logs) for name in ("A", "C")}
    wait_for(lambda: holder(sweep_a) and holder(sweep_c), 120)
    procs.update({name: start(name, a, logs) for name, a in {**single, "B": sweeps["B"]}.items()})
    print(f"started {len(procs)} processes at once ({len(single)} runs, {len(sweeps)} sweeps) in {root}")

    # the victims, once they have finished an epoch (a sweep: its first job)
    victims = {
        "r2": (signal.SIGTERM, runs / "r2", False),
        "r3": (signal.SIGKILL, runs / "r3", True),
        "A": (signal.SIGTERM, sweep_a, False),
        "C": (signal.SIGKILL, sweep_c, True),
    }
    signalled = {}
    for name, (sig, folder, group) in victims.items():
        job_dirs = (lambda f=folder: sorted(f.glob("[0-9]_*"))) if name in sweeps else (lambda f=folder: [f])
        if wait_for(lambda jd=job_dirs: any(epochs_done(d) >= 1 for d in jd()), 600) and procs[name].poll() is None:
            (os.killpg if group else os.kill)(procs[name].pid, sig)
            signalled[name] = sig.name
    for proc in procs.values():
        proc.wait(timeout=900)
        proc.log_file.close()
    first_wave = time.perf_counter() - started

    refused = {n: error_lines(logs / f"{n}.log") for n, p in procs.items() if p.returncode == 2}
    print(f"\nfirst wave done in {first_wave:.0f} s")
    print("exit codes: " + ", ".join(f"{n}={p.returncode}" for n, p in procs.items()))
    print(f"signalled: {signalled}")
    print(f"refused ({len(refused)}):")
    for name, lines in refused.items():
        print(f"  {name}: {lines[0] if lines else '(no error line!)'}")

    # resume what was stopped: the same arguments, in place
    resumed = {}
    for name in signalled:
        if name in single:
            resumed[name] = start(f"{name}_resume", [*single[name], f"resume={runs / name}"], logs)
        else:
            resumed[name] = start(f"{name}_resume", [*sweeps[name], "resume_sweep=true"], logs)
    # the sweep that lost the race for A's dir, if it was B that won, resumes nothing: A's jobs are B's
    for proc in resumed.values():
        proc.wait(timeout=900)
        proc.log_file.close()
    print("resumed: " + ", ".join(f"{n} (exit {p.returncode})" for n, p in resumed.items()))

    # the references: one clean run per seed, one after another, with the threads the run had: gpu_pool
    # gives each of its 2 jobs half the cores (1 thread here), and a sum over other threads differs in its
    # last bits; the other runs had the default
    results = {f"run {n}": (runs / n, i % 4, None) for i, n in enumerate(f"r{i}" for i in range(6))}
    for sweep_dir, seeds, threads in ((sweep_a, (1, 2), "1"), (sweep_c, (3, 4), None)):
        for i, seed in enumerate(seeds):
            job = next(iter(sorted(sweep_dir.glob(f"{i}_*"))), sweep_dir / f"{i}_missing")
            results[f"{sweep_dir.name}/{job.name}"] = (job, seed, threads)
    reference = {}
    for seed, threads in sorted({(seed, threads) for _, seed, threads in results.values()}, key=str):
        ref_dir = root / "reference" / f"seed{seed}_threads{threads or 'default'}"
        env = {**os.environ, **({"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads} if threads else {})}
        subprocess.run(
            command([*base, f"seed={seed}", f"hydra.run.dir={ref_dir}"]), capture_output=True, env=env, check=True
        )
        reference[seed, threads] = finals(ref_dir)

    bad = 0
    print("\nresult                     seed  equal to an uninterrupted run")
    for label, (folder, seed, threads) in results.items():
        got, want = finals(folder), reference[seed, threads]
        same = got is not None and got == want
        bad += not same
        print(f"  {label:<25} {seed:>4}  {'yes' if same else f'NO: {got} vs {want}'}")
    left = subprocess.run(["pgrep", "-f", str(root)], capture_output=True, text=True).stdout.split()
    print(f"\nlit_hw processes left afterwards (pgrep -f {root}): {len(left)} {left}")
    print(f"total {time.perf_counter() - started:.0f} s")
    return 1 if bad or left else 0


if __name__ == "__main__":
    sys.exit(main())
