"""Fake Telegram Bot API and Zalo OA API servers: real HTTP on loopback, for the channel
tests and the gateway benchmark (the outside network is closed)."""
