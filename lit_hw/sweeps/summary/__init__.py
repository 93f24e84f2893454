"""A sweep's summary, read from its jobs' metrics.json: tables (summary.csv/.md), plots, seed and
fold groups, the planned jobs that have not started, and the Hydra callback that keeps it current.
Its columns, 'Best' lines and plots follow each job's own metrics and monitor (monitors.py)."""
