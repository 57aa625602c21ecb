"""HTTP benchmark: ``python -m bench.http`` (see __main__.py)."""
