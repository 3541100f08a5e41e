"""Oversight: the analyst's aggregates, risk areas, retention, the reviewer's queues, the audit."""
