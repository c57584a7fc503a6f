"""novaload: one-command, CI-grade Grafana k6 load testing."""

__version__ = "0.1.0"
