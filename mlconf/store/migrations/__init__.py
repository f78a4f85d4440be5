"""The alembic migrations of mlconf's database, run by mlconf.store.migrate (no env.py)."""
