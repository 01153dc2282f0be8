"""The network room: listeners bound by the composition root (TCP link, UDP endpoints, serial)."""
