"""The process itself: logs, metrics, memory, collector, systemd."""
