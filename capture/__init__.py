"""Capture as a whole: external capture agents (signed batches), and capture health with gap alerts."""
