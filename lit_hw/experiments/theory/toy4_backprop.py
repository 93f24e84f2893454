"""Backprop by hand for the assignment's toy models, checked against autograd in float64.

One model (one target), a batch of N points x_n in R^4 with targets y_n, and the loss

  L = (1/N) sum_n (p_n - y_n)^2 + (lambda/2) ||theta||^2,     delta_n = dL/dp_n = 2 (p_n - y_n) / N

Linear model p = w·x:  dL/dw = sum_n delta_n x_n + lambda w.

Toy convnet (lit_hw.nets.toy4): xpad = (0, x_0..x_3, 0), h_f[j] = sum_k w_f[k] xpad[j + k] (f = 1, 2;
j = 0..3), r = relu(h), m = (max r_1[0:2], max r_1[2:4], max r_2[0:2], max r_2[2:4]), p = u·m:

  dL/du          = sum_n delta_n m_n + lambda u
  dL/dm_n        = delta_n u
  dL/dr_n[f, j]  = dL/dm_n[i] · a_n[f, j]      i = the pool of j; a = 1 where r[f, j] is that pool's max
  dL/dh_n[f, j]  = dL/dr_n[f, j] · 1[h_n[f, j] > 0]
  dL/dw_f[k]     = sum_n sum_j dL/dh_n[f, j] xpad_n[j + k] + lambda w_f[k]

The max routes the whole gradient to its arg-max. At a tie (two positions of a pool equal) the max is
not differentiable; any split of the gradient between the tied positions is a subgradient. torch's
amax (used by the net) splits it evenly, torch.max(dim) gives it all to one index: the hand rule
``ties="split"`` matches the first, ``ties="first"`` the second, and the check measures both and the gap
between them. ReLU's kink h = 0: the one-sided derivatives are 0 and 1; torch takes relu'(0) = 0, as
the hand rule 1[h > 0] does. At either point a gradient is a convention, not a derivative.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lit_hw.nets.toy4 import Toy4ConvNet, Toy4Linear

BOUND = 1e-10


def convnet_forward(x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, u: torch.Tensor) -> dict:
    """The forward pass written out (no autograd): every intermediate the backward pass needs."""
    xpad = F.pad(x, (1, 1))  # (N, 6)
    windows = torch.stack([xpad[:, j : j + 3] for j in range(4)], dim=1)  # (N, 4, 3)
    h = torch.stack([windows @ w1, windows @ w2], dim=1)  # (N, 2, 4)
    r = h.clamp_min(0)
    m = r.reshape(-1, 2, 2, 2).max(dim=-1).values.reshape(-1, 4)
    return {"windows": windows, "h": h, "r": r, "m": m, "p": m @ u}


def route(r: torch.Tensor, ties: str) -> torch.Tensor:
    """a[n, f, j]: the share of its pool's gradient that position j gets (1 at the arg-max)."""
    pools = r.reshape(-1, 2, 2, 2)
    winners = (pools == pools.max(dim=-1, keepdim=True).values).double()
    if ties == "split":
        shares = winners / winners.sum(dim=-1, keepdim=True)
    else:  # "first": the whole gradient to the first maximal position
        shares = F.one_hot(winners.argmax(dim=-1), 2).double()
    return shares.reshape(r.shape)


def convnet_grads(x, y, w1, w2, u, lam: float, ties: str = "split", relu_at_zero: float = 0.0) -> dict:
    """dL/dw1, dL/dw2, dL/du by the formulas in the module docstring."""
    fwd = convnet_forward(x, w1, w2, u)
    delta = 2 * (fwd["p"] - y) / len(x)
    grad_u = delta @ fwd["m"] + lam * u
    grad_m = delta[:, None] * u[None, :]  # (N, 4), pools ordered (f, g)
    grad_r = grad_m.reshape(-1, 2, 2, 1).expand(-1, 2, 2, 2).reshape(-1, 2, 4) * route(fwd["r"], ties)
    h = fwd["h"]
    relu_slope = (h > 0).double() + relu_at_zero * (h == 0).double()
    grad_h = grad_r * relu_slope  # (N, 2, 4)
    grad_w = torch.einsum("nfj,njk->fk", grad_h, fwd["windows"])
    return {"w1": grad_w[0] + lam * w1, "w2": grad_w[1] + lam * w2, "u": grad_u}


def linear_grads(x, y, w, lam: float) -> dict:
    return {"w": 2 * (x @ w - y) @ x / len(x) + lam * w}


def autograd_grads(net, x, y, lam: float, pool: str = "amax") -> dict:
    """The same loss through the net torch trains (float64), the L2 term written out."""
    net.zero_grad()
    if pool == "amax":
        p = net(x[:, None, :])[:, 0, 0]
    else:  # torch.max(dim): routes a tie to the index it returns
        r = torch.relu(net.hidden(x[:, None, :]))[:, 0]
        p = (r.reshape(len(x), 2, 2, 2).max(dim=-1).values.reshape(len(x), 4) * net.u[0]).sum(-1)
    penalty = sum((q**2).sum() for q in net.parameters())
    (((p - y) ** 2).mean() + lam / 2 * penalty).backward()
    return {name: q.grad[0].clone() for name, q in net.named_parameters()}


def max_gap(a: dict, b: dict) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def params(net) -> dict:
    return {name: q.detach()[0] for name, q in net.named_parameters()}


def tie_batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """x_0 = x_1 with w1 = (0, 1, 0): r_1[0] = r_1[1] = 1.3 exactly, a tie in the first pool; x_2 = 0
    puts h_1[2] = 0 exactly on ReLU's kink, tied with r_1[3] = relu(-0.7) = 0 in the second pool."""
    x = torch.tensor([[1.3, 1.3, 0.0, -0.7], [0.4, -1.1, 2.0, 0.9]], dtype=torch.float64)
    return x, torch.tensor([2.0, -1.0], dtype=torch.float64), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)


def check_toy4_backprop(seed: int = 0, trials: int = 20, batch: int = 64, lam: float = 1e-3, lr: float = 0.05) -> dict:
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    linear_gap = conv_gap = 0.0
    for _ in range(trials):
        x = (torch.rand(batch, 4, generator=generator, dtype=torch.float64) * 2 - 1) * 2.5
        y = torch.randn(batch, generator=generator, dtype=torch.float64) * 3
        lin, conv = Toy4Linear().double(), Toy4ConvNet().double()
        linear_gap = max(linear_gap, max_gap(linear_grads(x, y, params(lin)["w"], lam), autograd_grads(lin, x, y, lam)))
        p = params(conv)
        conv_gap = max(
            conv_gap, max_gap(convnet_grads(x, y, p["w1"], p["w2"], p["u"], lam), autograd_grads(conv, x, y, lam))
        )

    # the deliberate tie and kink
    x, y, center = tie_batch()
    conv = Toy4ConvNet().double()
    with torch.no_grad():
        conv.w1[0] = center
    p = params(conv)
    split, first = (convnet_grads(x, y, p["w1"], p["w2"], p["u"], lam, ties=t) for t in ("split", "first"))
    kink_as_one = convnet_grads(x, y, p["w1"], p["w2"], p["u"], lam, relu_at_zero=1.0)
    fwd = convnet_forward(x, p["w1"], p["w2"], p["u"])
    tie = {
        "tied_pools": int((fwd["r"].reshape(-1, 2, 2, 2).diff(dim=-1) == 0).sum()),
        "h_exactly_zero": int((fwd["h"] == 0).sum()),
        "split_rule_vs_autograd_amax": max_gap(split, autograd_grads(conv, x, y, lam, pool="amax")),
        "first_rule_vs_autograd_max_dim": max_gap(first, autograd_grads(conv, x, y, lam, pool="max")),
        "split_vs_first_rule_gap": max_gap(split, first),
        "relu_prime_zero_as_1_gap": max_gap(split, kink_as_one),
    }
    sgd = sgd_step_gap(x, y, conv, lam, lr)
    worst = max(linear_gap, conv_gap, tie["split_rule_vs_autograd_amax"], tie["first_rule_vs_autograd_max_dim"], sgd)
    return {
        "trials": trials,
        "batch": batch,
        "lambda": lam,
        "linear_max_abs_grad_diff": linear_gap,
        "convnet_max_abs_grad_diff": conv_gap,
        "tie_and_kink": tie,
        "sgd_weight_decay_step_max_diff": sgd,
        "max_abs_diff": worst,
        "bound": BOUND,
        "within_bound": worst <= BOUND,
    }


def sgd_step_gap(x, y, conv: Toy4ConvNet, lam: float, lr: float) -> float:
    """Training's L2 (SGD weight_decay=lambda on the task's summed MSE) takes the hand-derived step."""
    from lit_hw.tasks.regressor import Regressor

    task = Regressor(
        {"_target_": "lit_hw.nets.toy4.Toy4ConvNet"},
        {"_target_": "torch.optim.SGD", "lr": lr},
        target_names=["t"],
        target_loss="sum",
    ).double()
    task.net.load_state_dict(conv.state_dict())
    p = params(task.net)
    grads = convnet_grads(x, y, **p, lam=lam)
    expected = {k: p[k] - lr * grads[k] for k in p}
    optimizer = torch.optim.SGD(task.net.parameters(), lr=lr, weight_decay=lam)
    task.training_loss((x[:, None, :], y[:, None, None])).backward()
    optimizer.step()
    return max_gap(expected, params(task.net))
