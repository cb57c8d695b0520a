"""Shared foundation of every deployable: typed settings, the database, migrations, redaction.

Nothing in `core` imports from `knowledge`, `bot`, `actions` or `govbot`.
"""
