"""One module per check; each registers itself with ``audits.checks.spec.check``."""
