"""Test helpers: MNIST-format IDX writers and the CLI runner."""
