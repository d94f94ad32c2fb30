"""Process wiring: the `wenming` command, `wenming run`, job handlers and replay, on top of every package."""
