"""Datamodules whose splits live in memory as tensors."""
