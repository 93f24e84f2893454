"""Every claim of the write-up, checked by numbers: the Claims section of REPORT.md.

Each claim reads the runs of one or more ``python -m lit_hw.reproduce`` sections (measure.py),
turns them into numbers and a verdict by a rule of rules.py, and section.py writes the table.
CLAIM_RUNS are the sections that exist only for a claim: the train arguments of each, the exact
command REPORT.md shows (with hydra.sweep.dir / hydra.run.dir added by lit_hw.experiments.reproduce).
"""

from __future__ import annotations

CLAIM_RUNS: dict[str, list[str]] = {
    # claim 2: toy models from 5 seeds on the same data
    "toy_seeds": ["experiment=toy_seeds"],
    # claim 3: SGD with momentum (conf/optim/sgd.yaml) vs Adam (conf/optim/adam.yaml), same epochs, 3 seeds
    "claim_optimizers": [
        "-m",
        "model=linear,mlp",
        "optim=sgd,adam",
        "seed=0,1,2",
        "trainer.max_epochs=5",
        "hydra/launcher=stacked",
    ],
    # claim 4: the MLP with sigmoid, 3 seeds; its ReLU twin (the default activation) is claim 3's MLP with Adam,
    # the same runs, so they are not trained twice
    "claim_activations": [
        "-m",
        "model=mlp",
        "optim=adam",
        "model.activation=sigmoid",
        "seed=0,1,2",
        "trainer.max_epochs=5",
        "hydra/launcher=stacked",
    ],
    # claim 5: 1, 2, 3 hidden layers; ordinary jobs one after another, so each epoch's time is its own
    "claim_depth": ["-m", "model=mlp", "model.hidden_sizes=[256],[256,256],[256,256,256]", "trainer.max_epochs=5"],
    # claim 6: the ConvNet with and without dropout
    "claim_dropout": ["-m", "experiment=mnist_cnn", "model.dropout=0.25,0.0", "trainer.max_epochs=4"],
    # claim 7: the write-up's learning-rate exploration, Adam on the MLP (stacked)
    "lr_sweep_adam": ["-m", "experiment=lr_sweep_adam"],
    # claim 11: the plain 784-2-784 autoencoder (the autoencoder section is the one with dense layers)
    "autoencoder_plain": ["experiment=autoencoder", "model.hidden_sizes=[]"],
}
# the claim sections that train on MNIST (they get reproduce's data_source / data_dir)
MNIST_CLAIM_RUNS = tuple(name for name in CLAIM_RUNS if name != "toy_seeds")
# the single-run ones (hydra.run.dir instead of hydra.sweep.dir)
SINGLE_RUNS = ("autoencoder_plain",)
