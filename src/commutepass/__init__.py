"""commutepass."""
