"""Ingest: platform messages in, raw messages stored, reports assembled and attributed to units."""
