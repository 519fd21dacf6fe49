"""fedgroup: a home on the fediverse for small activist groups."""

__version__ = "0.1.0"
