"""Channels: the HTTP gateway (web page and APIs now; Telegram and Zalo join here).

Calls `knowledge` (and later the Rasa server over HTTP); nothing imports `bot`.
"""
