"""HTTP layer: the FastAPI application and its routers."""
