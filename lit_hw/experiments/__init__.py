"""The assignment's studies beyond one run: toy comparison, the REPORT.md reproduction, theory checks."""
