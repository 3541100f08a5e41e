"""Sign-in, users and roles, households, and who may see whom."""
