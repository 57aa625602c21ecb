"""Simulation benchmark: ``python -m bench.simulate [--events N] [--full]``.

Generates an event store of N events (default 200,000; ``--full``: 1,000,000)
on SQLite and on PostgreSQL with the realistic generator of
``bench.projections.generate`` (the Dispute aggregate's own commands, many
aggregates per save), then measures in fresh subprocesses, alternately and
best of three:

- raw: reading and decoding every notification with the library alone
  (``recorder.select_notifications`` + ``mapper.to_domain_event``);
- sim: ``run_simulation`` over the same store (one ordered, read-only pass).

Reports events per second of both, their ratio (target >= 0.6), and each
subprocess's peak RSS (target < 300 MB), for a candidate that changes one
region (``regions.US.ship_within_business_days``) and, as the worst case, one
that changes every order's rules (``defaults.ship_within_business_days``).
Writes bench/results/simulate.json.
"""
