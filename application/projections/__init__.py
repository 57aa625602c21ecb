"""Read models and their projections.

- ``engine``: the catch-up engine (batches of the notification log, one
  transaction per batch with the position; exactly once, resumable);
- ``disputes``, ``scorecard``, ``metrics``: one module per read model (the
  scorecard's also holds the sellers' pages: names, markets, reviews, return costs);
- ``runner``, ``worker``, ``rebuild``: running the lanes, following the log,
  rebuilding a new version while the old one serves;
- ``queries``: what the API reads, as plain values (``seller_queries``: the seller
  search, a seller's page and scorecard; ``figures``: how figures are written);
- ``ports``: the store interfaces infrastructure implements.
"""
