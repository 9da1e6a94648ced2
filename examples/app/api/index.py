"""Vercel entry point for the Example Shop API.

Vercel imports this module on every cold start and looks for ``app`` or
``handler``.  Everything below ``from src.api.main import app`` runs during that
import, before the first request can be served.
"""
import os
import sys

# Make ``src`` importable when Vercel runs us from the ``api/`` directory.
current_dir = os.path.dirname(os.path.abspath(__file__))
project_root = os.path.dirname(current_dir)
if project_root not in sys.path:
    sys.path.insert(0, project_root)

from src.api.main import app  # noqa: E402

# Vercel expects 'app' or 'handler'.
handler = app
