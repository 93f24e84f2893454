from torch import nn


class LinearNet(nn.Module):
    """Multinomial logistic regression: flatten, one affine map to the class logits."""

    def __init__(self, in_features: int = 784, num_classes: int = 10):
        super().__init__()
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x):
        return self.fc(x.flatten(1))

    def stack_layers(self) -> nn.Sequential:
        """The modules forward runs, in order (lit_hw.stacked.net trains many nets as one from them)."""
        return nn.Sequential(nn.Flatten(), self.fc)
