"""Serving a trained model: the REST service of `mlconf serve` (FastAPI under uvicorn).

FastAPI, uvicorn and pydantic are imported only inside this package (the `serve` extra),
so `mlconf --help` stays fast.
"""
