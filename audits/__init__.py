"""connect-audit: find what will go wrong before CONNECT portal accounts are generated."""

__version__ = "0.1.0"
