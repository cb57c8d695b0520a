"""The Rasa custom action server (rasa-sdk), using `knowledge` in-process.

Built in the Rasa issue; may import `knowledge` and `core`, never `bot`.
"""
