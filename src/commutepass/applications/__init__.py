"""Applications to the commuter database, with documents (online, at a checkpoint, by the 12345 hotline)."""
