"""In-memory stand-ins for infrastructure adapters, for tests only."""
