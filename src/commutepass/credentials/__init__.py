"""Signed health-code credentials (CWT/COSE/base45): codes, keys, the trust and revocation lists, QR, the citizen page."""
