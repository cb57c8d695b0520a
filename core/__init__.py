"""Shared foundation of every deployable: typed settings, the database, migrations, the text
normaliser (`core.text`, stdlib only: the Rasa environment imports it too, with
`core.redaction` and `core.gc_pauses`), redaction.

Nothing in `core` imports from `knowledge`, `bot`, `actions` or `govbot`.
"""
