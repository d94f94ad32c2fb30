"""The ``wenming`` command line: the composition root that wires domain services to the database."""
