"""Helpers shared by tests: real servers (Oxigraph, our app under uvicorn) on 127.0.0.1."""
