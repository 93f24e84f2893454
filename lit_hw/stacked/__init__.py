"""Stacked training: the jobs of a sweep that share an architecture and data trained as one
vectorized model (hydra/launcher=stacked, or gpu_pool with stacked=true)."""
