"""Offline checkpoints: the signed snapshot, uploads of swipes, the checkpoint client, the console."""
