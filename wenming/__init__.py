"""Wenming: shared settings, database plumbing and the command-line entry point."""
