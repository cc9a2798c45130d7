"""Command modules of the ``rus`` CLI, one per domain; each defines ``register(app)``."""
