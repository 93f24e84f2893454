"""lit_hw's Hydra launchers: gpu_pool (a fresh process per job over GPU slots), slurm (submitit) and
ray, one module each; their Hydra-side classes are in the top-level hydra_plugins/lit_hw_launchers
(installed beside lit_hw); what they share: composing a job (launching), its return value as JSON (job_return), its process
(job_process) and the sweep's signals (sweep_signals)."""
