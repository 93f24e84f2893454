"""Lightning callbacks: run records (metrics.json) and divergence handling."""
