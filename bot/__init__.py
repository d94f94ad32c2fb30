"""Chat-platform edges: adapters, history import, scheduled posts. No business logic lives here."""
