"""Benchmarks that print figures (`make bench`); targets are checked by reading them."""
