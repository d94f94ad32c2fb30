"""The agent runs against the same real API app and `wenming agents add` credentials as the capture tests."""

from tests.capture.conftest import add_agent, capture_settings, cli, client  # noqa: F401
