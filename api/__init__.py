"""The HTTP adapter around ``kg``: the FastAPI app (``api.app.create_app``) and its routers.

It imports only ``kg`` and reads no environment: the composition root (``obligraph.bootstrap``) hands it
a store and a config.
"""
