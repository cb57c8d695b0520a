"""The procedure knowledge base: schema, versioned storage, hybrid retrieval, answers.

May import from `core`; never from `bot`, `actions` or `govbot`. `knowledge.text` is
stdlib-only, so the Rasa environment imports it for its NLU components.
"""
