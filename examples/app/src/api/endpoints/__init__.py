"""Routers mounted by :mod:`src.api.main`."""
