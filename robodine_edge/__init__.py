"""robodine-edge: the in-store service that runs a robot restaurant from one small computer."""

__version__ = "0.1.0"
