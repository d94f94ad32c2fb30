"""Password hashing (argon2id), random tokens and their SHA-256 digests."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's minimum argon2id configuration: 19 MiB, 2 iterations, 1 lane — fast enough for a login form.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

TOKEN_PREFIX = "wm_"
MIN_PASSWORD_LENGTH = 10  # accounts.passwords.MIN_LENGTH

# A fixed hash to verify against when the user does not exist, so timing does not reveal user names.
_DUMMY_HASH = _hasher.hash("wenming-no-such-user")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends one hash's time."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_api_token() -> str:
    """A 256-bit bearer token with a recognisable prefix (so leaked tokens can be found by scanners)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_password(length: int = 12) -> str:
    """A random password that passes the password rules: letters and digits, no look-alikes (0/O, 1/l/I)."""
    letters = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
    digits = "23456789"
    chars = [secrets.choice(letters), secrets.choice(digits)]
    chars += [secrets.choice(letters + digits) for _ in range(max(length, MIN_PASSWORD_LENGTH) - 2)]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """Tokens are high-entropy, so a plain SHA-256 is a safe way to store and look them up."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
