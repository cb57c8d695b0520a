"""Composition root: the `govbot` command line. Imports every other package; none imports it."""
