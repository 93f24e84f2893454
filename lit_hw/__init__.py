"""lit_hw: the classic first deep-learning experiments on PyTorch Lightning + Hydra."""

__version__ = "0.1.0"

from lit_hw.resolvers import register_resolvers  # noqa: E402

# Every entrypoint's config may use ${lit_hw.short:...} (conf/hydra/default.yaml).
register_resolvers()
