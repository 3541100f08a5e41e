"""Telling the citizen: the inbox, reminders, and the outbound channel (an outbox with a webhook sender)."""
