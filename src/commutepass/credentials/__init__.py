"""Signed health-code credentials, the trust list, revocation and the offline snapshot."""
