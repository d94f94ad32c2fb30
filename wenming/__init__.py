"""Wenming's shared core: settings, database, schema gate, audit trail, Chinese names, domain errors, job queue."""
