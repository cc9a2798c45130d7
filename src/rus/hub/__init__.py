"""Copernicus data access: CDSE client, shared product store and the local hub server.

Modules (import what you need; nothing heavy is imported here):

- :mod:`rus.hub.query`: loose input -> :class:`~rus.hub.query.SearchQuery` (``make_query``,
  ``parse_aoi``, ``parse_period``) and the CDSE OData ``$filter`` (``build_filter``).
- :mod:`rus.hub.odata`: :class:`~rus.hub.odata.ODataClient` (paging past ``$skip`` 10,000).
- :mod:`rus.hub.stac_client`: :class:`~rus.hub.stac_client.StacClient` (CQL2-JSON search).
- :mod:`rus.hub.auth`: :class:`~rus.hub.auth.TokenManager` (one login, then refresh tokens),
  ``find_credentials``, ``totp``, ``install_log_filter``.
- :mod:`rus.hub.download`: :class:`~rus.hub.download.Downloader` (parallel, resumable, verified).
- :mod:`rus.hub.store` / :mod:`rus.hub.store_ops`: :class:`~rus.hub.store.ProductStore`,
  ``open_store``, ``import_path``, ``verify``, ``publish_demo``, ``fetch_into_store``.
- :mod:`rus.hub.server`: ``create_hub_app(store, upstream=...)`` (OData subset + STAC API).
- :mod:`rus.hub.errors`: ``HubError`` and its subclasses.
"""
