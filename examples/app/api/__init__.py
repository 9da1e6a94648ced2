"""Vercel serverless function package."""
