"""Domain and infrastructure services."""
