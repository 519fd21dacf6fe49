"""Talking to other servers: signed fetches and POSTs, remote actors and their keys, signature verification, the delivery worker."""
