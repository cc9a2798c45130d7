"""Routers: ``api_*`` under ``/api/v1``, ``pages_*`` for the HTML pages."""
