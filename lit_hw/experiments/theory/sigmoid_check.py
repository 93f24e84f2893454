"""Check the hand-written sigmoid (lit_hw.nets.sigmoid): σ' = σ(1 − σ) from the saved output."""

from __future__ import annotations

import torch

from lit_hw.nets.sigmoid import SigmoidFromOutput, SigmoidFromOutputFunction


def check_sigmoid(seed: int = 0, n: int = 64) -> dict:
    """gradcheck (float64) and the largest gap to torch.sigmoid's autograd gradient (float32)."""
    generator = torch.Generator().manual_seed(seed)
    x64 = (torch.randn(n, dtype=torch.float64, generator=generator) * 4).requires_grad_()
    gradcheck_ok = torch.autograd.gradcheck(SigmoidFromOutputFunction.apply, (x64,), eps=1e-6, atol=1e-8)

    x = (torch.randn(n, generator=generator) * 4).requires_grad_()
    upstream = torch.randn(n, generator=generator)
    (ours,) = torch.autograd.grad(SigmoidFromOutput()(x), x, upstream)
    (reference,) = torch.autograd.grad(torch.sigmoid(x), x, upstream)
    with torch.no_grad():
        output_gap = float((SigmoidFromOutput()(x) - torch.sigmoid(x)).abs().max())
    return {
        "gradcheck": bool(gradcheck_ok),
        "max_abs_grad_diff_vs_torch_sigmoid": float((ours - reference).abs().max()),
        "max_abs_output_diff_vs_torch_sigmoid": output_gap,
    }
