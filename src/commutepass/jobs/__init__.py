"""Scheduled work run by the service itself: identification, retention, snapshot, trust lists,
alert evaluation; one runner per job and slot across servers, every run recorded."""
