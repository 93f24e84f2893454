"""Theory checks: they live in lit_hw.experiments.theory; here each is run and its claim asserted."""

from __future__ import annotations

import torch

from lit_hw.experiments.theory import run_all
from lit_hw.experiments.theory.shared_threshold import SharedThresholdReLU, check_shared_threshold, fold_threshold
from lit_hw.experiments.theory.sigmoid_check import check_sigmoid
from lit_hw.experiments.theory.zero_init import check_zero_init
from lit_hw.nets.mlp import MLP
from lit_hw.nets.sigmoid import SigmoidFromOutput, SigmoidFromOutputFunction


def test_sigmoid_from_output_passes_gradcheck_and_matches_torch():
    result = check_sigmoid()
    assert result["gradcheck"] is True
    assert result["max_abs_grad_diff_vs_torch_sigmoid"] < 1e-6
    assert result["max_abs_output_diff_vs_torch_sigmoid"] == 0.0


def test_sigmoid_backward_reads_only_the_saved_output():
    x = torch.randn(10, requires_grad=True)
    y = SigmoidFromOutputFunction.apply(x)
    assert len(y.grad_fn.saved_tensors) == 1 and torch.equal(y.grad_fn.saved_tensors[0], y)


def test_mlp_uses_it_through_its_activation_option():
    net = MLP(in_features=4, hidden_sizes=[3], activation="sigmoid_from_output")
    assert any(isinstance(m, SigmoidFromOutput) for m in net.modules())
    net(torch.randn(2, 4)).sum().backward()
    assert net.layers[1].weight.grad.abs().sum() > 0


def small_digits(n=300, seed=0):
    """Structured, unevenly distributed classes without loading MNIST: 10 Gaussian blobs in 20-D."""
    g = torch.Generator().manual_seed(seed)
    y = torch.multinomial(torch.linspace(1, 3, 10), n, replacement=True, generator=g)
    centers = torch.randn(10, 20, generator=g) * 3
    return centers[y] + torch.randn(n, 20, generator=g), y


def test_zero_init_never_leaves_zero_and_predicts_the_most_frequent_class():
    x, y = small_digits()
    result = check_zero_init(steps=15, hidden=16, data=(x, y))
    zero = result["zero"]
    assert zero["max_abs_hidden_weight_grad"] == 0.0
    assert zero["max_abs_hidden_weight"] == 0.0 and zero["max_abs_hidden_bias"] == 0.0
    assert zero["distinct_hidden_units"] == 1
    assert zero["train_accuracy"] == result["most_frequent_class_fraction"]
    for scheme in ("he_after_one_step", "xavier_after_one_step"):
        assert result[scheme]["distinct_hidden_units"] == 16
        assert result[scheme]["max_abs_hidden_weight_grad"] > 0


def test_shared_threshold_is_a_shifted_bias():
    assert check_shared_threshold(trials=10)["max_abs_output_diff"] < 1e-12
    linear, act = torch.nn.Linear(3, 4), SharedThresholdReLU(0.7)
    folded = fold_threshold(linear, act)
    assert torch.allclose(folded[0].bias, linear.bias - 0.7)
    x = torch.randn(50, 3)
    assert torch.allclose(act(linear(x)), folded(x), atol=1e-6)
    # the threshold is a real, learnable parameter
    act(linear(x)).sum().backward()
    assert act.threshold.grad is not None


def test_run_all_reports_every_check():
    results = run_all(zero_init_data=small_digits())
    assert set(results) == {"sigmoid_from_output", "zero_init", "shared_threshold"}
    assert results["sigmoid_from_output"]["gradcheck"] is True
    assert results["zero_init"]["zero"]["max_abs_hidden_weight"] == 0.0
