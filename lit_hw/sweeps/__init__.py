"""Everything about multiruns: launchers (gpu_pool), the job wrapper, summaries, Hydra callbacks."""
