"""Load-and-faults check: ``python -m bench.load`` (see scenario.py)."""
