"""Database layer: SQLAlchemy 2 models and Alembic migrations (SQLite default, PostgreSQL).

- :mod:`rus.db.base`: declarative ``Base``, engine and session factories.
- :mod:`rus.db.models`: one module per domain (store, accounts, requests, ...).
- :func:`rus.db.migrate.upgrade`: apply every Alembic migration head.
"""
