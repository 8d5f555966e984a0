"""9router-smoke: a deploy gate for 9router."""

__version__ = "1.0.0"
