"""The Claims section of REPORT.md: one row per claim, its command, numbers and verdict."""

from __future__ import annotations

from lit_hw.core.tables import markdown_table
from lit_hw.experiments.claims import measure, rules
from lit_hw.experiments.claims.measure import Missing, run_dir, sweep_jobs

THEORY = "python -m lit_hw.experiments.theory"


def curve(job: dict, metric: str) -> list[float]:
    return [row.get(metric, float("nan")) for row in job.get("history", []) if "epoch" in row]


def claim_lr_sweep(results, theory):
    jobs = {float(j["config"]["optim"]["lr"]): j for j in sweep_jobs(run_dir(results, "lr_sweep_adam"))}
    if not {1.0, 10.0} <= set(jobs) or not any(lr <= 1e-3 for lr in jobs):
        raise Missing("lr_sweep_adam lacks lr=1, lr=10 or a low rate")
    planned = int(jobs[1.0]["config"]["trainer"]["max_epochs"])
    low = {lr: curve(j, "test_epoch/acc") for lr, j in jobs.items() if lr <= 1e-3}
    learned = {lr: j for lr, j in jobs.items() if (curve(j, "val/acc") or [0])[-1] >= rules.COLLAPSE_FROM}
    gaps = [curve(j, "train/acc")[-1] - curve(j, "test_epoch/acc")[-1] for j in learned.values()]
    one, ten = curve(jobs[1.0], "val/acc"), curve(jobs[10.0], "val/acc")
    collapse = rules.collapse_epoch(one)
    parts = {
        "low rates keep rising": rules.all_hold(*(rules.keeps_rising(c) for c in low.values())),
        "lr=1 collapses late": rules.collapses_late(one, planned),
        "lr=10 at chance from the start": rules.at_chance_throughout(ten),
        "train and test stay close": rules.curves_close(gaps),
    }
    text = "; ".join(
        f"lr={lr:g}: {j.get('status')}, {j.get('epochs_run')} epochs, val acc max {max(curve(j, 'val/acc'), default=float('nan')):.3f} "
        f"last {(curve(j, 'val/acc') or [float('nan')])[-1]:.3f}"
        for lr, j in sorted(jobs.items())
    )
    middle_last = ", ".join(f"lr={lr:g} {c[(len(c) - 1) // 2]:.3f} / {c[-1]:.3f}" for lr, c in sorted(low.items()) if c)
    never = f"none (never at or above {rules.COLLAPSE_FROM} and then at or below {rules.CHANCE_ACC})"
    text += (
        f". Test acc at the middle / last epoch for low rates: {middle_last}. lr=1 collapse epoch (val acc): "
        f"{never if collapse is None else collapse} of {planned}. Last-epoch train − test acc of the runs that learned: "
        f"{', '.join(f'{g:+.3f}' for g in gaps)}. Parts: "
        + ", ".join(f"{name}: {rules.verdict(ok)}" for name, ok in parts.items())
    )
    return text, rules.all_hold(*parts.values())


def claim_zero_init(results, theory):
    zero = theory["zero_init"]
    z = zero["zero"]
    distinct = [zero[k]["distinct_hidden_units"] for k in ("he_after_one_step", "xavier_after_one_step")]
    text = (
        f"zero init after {zero['steps']} SGD steps: max |hidden weight grad| {z['max_abs_hidden_weight_grad']:g}, "
        f"max |hidden weight| {z['max_abs_hidden_weight']:g}, train acc {z['train_accuracy']:.4f} (most frequent class "
        f"{zero['most_frequent_class_fraction']:.4f}); distinct hidden units after 1 step: He {distinct[0]}, Xavier {distinct[1]} "
        f"of {zero['hidden_units']}"
    )
    return text, rules.zero_init_stuck(
        z["max_abs_hidden_weight_grad"], z["max_abs_hidden_weight"], distinct, zero["hidden_units"]
    )


def claim_sigmoid(results, theory):
    sig = theory["sigmoid_from_output"]
    gap = sig["max_abs_grad_diff_vs_torch_sigmoid"]
    text = (
        f"gradcheck (float64) {sig['gradcheck']}; max |grad − torch.sigmoid's grad| {gap:.3g} (float32; rule: ≤ 1e-6)"
    )
    return text, bool(sig["gradcheck"]) and rules.within(gap, 1e-6)


def claim_threshold(results, theory):
    shared = theory["shared_threshold"]
    gap = shared["max_abs_output_diff"]
    return (
        f"max |relu(Wx+b−t) − relu(Wx+(b−t))| over {shared['trials']} random layers {gap:.3g} (float64; rule: ≤ 1e-12)",
        rules.within(gap, 1e-12),
    )


# (claim in a few words, the sections whose commands it ran, how it is measured)
CLAIMS = [
    ("The linear model learns only the linear target; the toy convnet learns all of them", ("toy",), measure.claim_toy),
    (
        "The linear model reaches the same solution from any start (convex loss); the convnet's result depends on its init",
        ("toy_seeds",),
        measure.claim_seeds,
    ),
    (
        "On MNIST, SGD with momentum does better than Adam most of the time (linear model and MLP)",
        ("claim_optimizers",),
        measure.claim_optimizers,
    ),
    (
        "The MLP with ReLU does slightly better than with sigmoid",
        ("claim_optimizers", "claim_activations"),
        measure.claim_activations,
    ),
    ("Deeper MLPs cost much more time for a small gain (1, 2, 3 hidden layers)", ("claim_depth",), measure.claim_depth),
    ("Dropout and max-pooling help the ConvNet", ("claim_dropout",), measure.claim_dropout),
    (
        "Adam on the MLP: low rates keep rising, lr=1 collapses late (~epoch 50), lr=10 stays at chance, train and test stay close",
        ("lr_sweep_adam",),
        claim_lr_sweep,
    ),
    ("Zero init: hidden weights get no gradient and never change; He and Xavier fix it", ("theory",), claim_zero_init),
    ("σ' = σ(1 − σ) computed from the forward output is the sigmoid's gradient", ("theory",), claim_sigmoid),
    ("A threshold t shared by all units adds no expressive power", ("theory",), claim_threshold),
    (
        "A plain 784→2→784 autoencoder does badly; dense layers in between help",
        ("autoencoder_plain", "autoencoder"),
        measure.claim_autoencoder_depth,
    ),
    ("The autoencoder beats PCA, and its codes are more spread out", ("autoencoder",), measure.claim_autoencoder_pca),
]


def command_of(results: dict, section: str) -> str:
    """The command as it ran, all its overrides included, less only where reproduce put its output."""
    if section == "theory":
        return THEORY
    command = results.get(section, {}).get("command")
    if not command:
        return f"(section {section} not run)"
    return " ".join(arg for arg in command.split(" ") if not arg.startswith(("hydra.sweep.dir=", "hydra.run.dir=")))


def measure_claims(results: dict, theory: dict | None) -> list[dict]:
    rows = []
    for number, (claim, sections, measured) in enumerate(CLAIMS, start=1):
        try:
            if "theory" in sections and theory is None:
                raise Missing("the theory checks did not run")
            numbers, holds = measured(results, theory)
        except Missing as missing:
            numbers, holds = f"not measured: {missing}", False
        commands = "<br>".join(f"`{command_of(results, s)}`" for s in sections)
        rows.append({"claim": number, "text": claim, "commands": commands, "numbers": numbers, "holds": holds})
    return rows


def claims_section(results: dict, theory: dict | None, fast: bool) -> str:
    rows = measure_claims(results, theory)
    text = (
        "Every claim of the write-up, measured. The verdict comes from the numbers by the rule named in each row "
        "(`lit_hw/experiments/claims/rules.py`, tested in `tests/unit/experiments/test_claims.py`); a claim that does not hold is a finding.\n\n"
    )
    if fast:
        text += (
            "**Fast run**: the settings are cut down, so these numbers and verdicts say nothing about the claims.\n\n"
        )
    table = [[r["claim"], r["text"], r["commands"], r["numbers"], rules.verdict(r["holds"])] for r in rows]
    held = sum(r["holds"] for r in rows)
    return (
        text
        + markdown_table(["#", "claim", "command", "measured", "verdict"], table)
        + f"\n{held} of {len(rows)} claims hold.\n"
    )
