"""One module per check; each registers itself with ``audits.registry.check``."""
