"""A net of this project's own, trained by lit_hw without a fork: conf/model/my_net.yaml names it.

lit_hw builds a net from its config's ``_target_`` and the other keys as keyword arguments, so the
constructor's arguments are the config's keys. The classifier task feeds it a batch of inputs and
reads (N, num_classes) logits back.
"""

from __future__ import annotations

from torch import nn

from lit_hw.core.errors import ConfigError


class SiLU(nn.SiLU):
    """SiLU (x * sigmoid(x)), marked element-wise: hydra/launcher=stacked may then run it as is on every
    stacked member's rows (lit_hw's own list knows ReLU, Sigmoid, Tanh, GELU, LeakyReLU, Dropout)."""

    elementwise = True


class SiLUMLP(nn.Module):
    """Flatten, then one hidden layer of SiLU units with dropout, then the class logits."""

    def __init__(self, in_features: int = 64, hidden_size: int = 128, num_classes: int = 10, dropout: float = 0.1):
        super().__init__()
        # lit_hw prints a ConfigError as one line (no traceback), before anything is trained or written
        if not isinstance(hidden_size, int) or hidden_size < 1:
            raise ConfigError(f"model.hidden_size={hidden_size!r} must be a whole number >= 1")
        if not 0 <= dropout < 1:
            raise ConfigError(f"model.dropout={dropout!r} must be in [0, 1)")
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_features, hidden_size),
            SiLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_size, num_classes),
        )

    def forward(self, x):
        return self.layers(x)

    def stack_layers(self) -> nn.Sequential:
        """The modules forward runs, in order: hydra/launcher=stacked trains many of these nets as one,
        layer by layer (without this method it still stacks them, through torch.func)."""
        return self.layers
