"""Hydra- and OmegaConf-aware helpers every layer uses: value checks that name the key (checks), the
command line and its one-line errors (cli), and the resolvers lit_hw's configs call (resolvers)."""
