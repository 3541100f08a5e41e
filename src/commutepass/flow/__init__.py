"""Flow at the entry channels: counts per minute, queue and wait estimates, warnings, alerts."""
