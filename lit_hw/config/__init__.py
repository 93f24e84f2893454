"""Hydra- and OmegaConf-aware helpers every layer uses: value checks that name the key (checks), the
command line and its one-line errors (cli), the overrides lit_hw treats specially (override_keys), the
resolvers lit_hw's configs call (resolvers), and the only uses of Hydra's private API (hydra_adapter)."""
