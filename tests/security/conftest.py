"""Security tests reach the app through the same fixtures as the API tests."""

from tests.api.conftest import anyio_backend, app, client, data, staff  # noqa: F401
