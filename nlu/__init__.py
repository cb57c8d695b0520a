"""The Rasa 3 project (data, config, domain) and its custom NLU components.

Runs in the Rasa environment (Python 3.10); imports only `core.text` of ours.
"""
