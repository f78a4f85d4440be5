"""One module per schema revision; alembic loads them by file, in the order of down_revision."""
