"""Theory checks: they live in lit_hw.experiments.theory; here each is run and its claim asserted."""

from __future__ import annotations

import torch

from lit_hw.experiments.theory import run_all
from lit_hw.experiments.theory.shared_threshold import SharedThresholdReLU, check_shared_threshold, fold_threshold
from lit_hw.experiments.theory.sigmoid_check import check_sigmoid
from lit_hw.experiments.theory.toy4_backprop import (
    autograd_grads,
    check_toy4_backprop,
    convnet_grads,
    max_gap,
    params,
    tie_batch,
)
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
    assert set(results) == {"sigmoid_from_output", "zero_init", "shared_threshold", "toy4_backprop"}
    assert results["sigmoid_from_output"]["gradcheck"] is True
    assert results["zero_init"]["zero"]["max_abs_hidden_weight"] == 0.0


def test_toy4_hand_gradients_equal_autograd_including_a_tie_and_the_kink():
    result = check_toy4_backprop(trials=3, batch=16)
    assert result["max_abs_diff"] <= 1e-10 and result["within_bound"] is True
    tie = result["tie_and_kink"]
    assert tie["tied_pools"] >= 1 and tie["h_exactly_zero"] >= 1  # the deliberate case is really on a tie
    assert tie["split_rule_vs_autograd_amax"] <= 1e-10 and tie["first_rule_vs_autograd_max_dim"] <= 1e-10
    # at the tie the two conventions really give different gradients, so matching each one means something
    assert tie["split_vs_first_rule_gap"] > 1e-3 and tie["relu_prime_zero_as_1_gap"] > 1e-3


def test_a_wrong_hand_rule_is_caught():
    """The comparison can fail: relu'(0) = 1 or the L2 term left out are off by far more than 1e-10."""
    from lit_hw.nets.toy4 import Toy4ConvNet

    x, y, center = tie_batch()
    torch.manual_seed(1)
    net = Toy4ConvNet().double()
    with torch.no_grad():
        net.w1[0] = center
    p = params(net)
    reference = autograd_grads(net, x, y, lam=0.1)
    assert max_gap(convnet_grads(x, y, p["w1"], p["w2"], p["u"], lam=0.1), reference) <= 1e-10
    assert max_gap(convnet_grads(x, y, p["w1"], p["w2"], p["u"], lam=0.1, relu_at_zero=1.0), reference) > 1e-3
    assert max_gap(convnet_grads(x, y, p["w1"], p["w2"], p["u"], lam=0.0), reference) > 1e-3
