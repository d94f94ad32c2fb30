"""Durable background work queue stored in the database: jobs, leases, retries, dead letters, workers."""
