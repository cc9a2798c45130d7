"""rus.portal: the web portal (FastAPI): pages, the ``/api/v1`` JSON API and the desks.

Build it with :func:`rus.portal.app.create_app`; ``rus serve`` runs it with uvicorn.
"""
