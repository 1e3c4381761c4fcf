"""Django's PostgreSQL backend, waiting briefly for a server that is starting up (see base.py)."""
