"""Example Shop service package."""
