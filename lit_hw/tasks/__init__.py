"""LightningModules: each owns a loss, metrics, optimizer wiring and logging around a plain net."""
