"""Matplotlib figures as PNG (written atomically) and TensorBoard images."""
