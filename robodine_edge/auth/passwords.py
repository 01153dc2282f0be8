"""Password hashing with Argon2id (argon2-cffi).

Parameters are OWASP's minimum (19 MiB, 2 passes): ~27 ms per hash on the dev VM and
a few times that on a Pi 4, instead of ~180 ms with the library defaults. Stored
hashes carry their parameters, so changing them later rehashes users on their next
login. Hashing is CPU-bound: callers on the event loop run it in a thread pool.
"""

from __future__ import annotations

import functools
import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = argon2.PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong username costs the same
    time. Made at the first such login, not at import: hashing costs ~27 ms of CPU, paid
    by every process that imports this module (the CLI, each simulator) otherwise. The
    first unknown username of a process costs one hash more, once."""
    return _HASHER.hash("robodine-edge: no such user")


def new_password(nbytes: int = 12) -> str:
    """A random password of `nbytes` bytes, URL-safe base64, never starting with `-`.

    Why: people paste generated passwords into command lines (`simulate --admin-password
    "$(cat var/initial-admin-password)"`), and one in 64 of `token_urlsafe`'s answers
    begins with `-`, which argparse then reads as an option. Any thread.
    """
    while True:
        password = secrets.token_urlsafe(nbytes)
        if not password.startswith("-"):
            return password


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True if `password` matches; a missing or unreadable hash never matches."""
    try:
        _HASHER.verify(stored_hash or _dummy_hash(), password)  # raises unless it matches
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return stored_hash is not None


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)
