"""What ops look at: health and readiness probes and Prometheus metrics."""
