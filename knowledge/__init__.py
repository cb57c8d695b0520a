"""The procedure knowledge base: schema, versioned storage, hybrid retrieval, answers.

May import from `core`; never from `bot`, `actions` or `govbot`.
"""
