"""Multiruns: what a job does inside a sweep (job), continuing a sweep (resume), the launchers
(launchers/) and the sweep summary (summary/)."""
