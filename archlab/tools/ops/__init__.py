"""Op modules: one per family, collected in registry.OPS."""
