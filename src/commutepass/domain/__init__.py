"""The pure core: identity, regions, policy model and decisions. No I/O lives here."""
