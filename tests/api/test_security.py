"""Generated secrets: a demo or admin password made by the program must always be accepted by its own rules."""

from __future__ import annotations

from accounts import security
from accounts import service as auth


def test_generated_passwords_always_pass_the_password_rules() -> None:
    # token_urlsafe gave an all-letter password about one run in twelve, and the demo then stopped with an error
    passwords = {security.new_password() for _ in range(3000)}
    assert len(passwords) == 3000
    for password in passwords:
        auth.validate_new_password(password)
        assert not set(password) & set("0O1lI")
