"""The token gate's verified-token cache must not outlive a token's expiry or revocation."""

from __future__ import annotations

import time

import pytest

from robodine_edge.auth.tokens import TokenCodec
from robodine_edge.errors import Unauthorized
from robodine_edge.http.auth import VERIFIED_CACHE, AuthGate, Revocations
from robodine_edge.types import Role


@pytest.fixture
def codec() -> TokenCodec:
    return TokenCodec(b"k" * 32, 2, "store-1")


def test_a_cached_token_is_refused_once_it_expires(codec: TokenCodec) -> None:
    gate = AuthGate(codec, Revocations())
    issued = codec.issue(1, "ana", Role.STAFF)
    assert gate.verify(issued.token).username == "ana"  # verified and cached
    time.sleep(max(0.0, issued.principal.expires_at - time.time()) + 0.05)
    with pytest.raises(Unauthorized, match="token expired"):
        gate.verify(issued.token)
    with pytest.raises(Unauthorized, match="token expired"):  # and the signature path agrees
        gate.verify(issued.token)


def test_a_cached_token_is_refused_once_revoked(codec: TokenCodec) -> None:
    revocations = Revocations()
    gate = AuthGate(codec, revocations)
    issued = codec.issue(1, "ana", Role.STAFF)
    gate.verify(issued.token)
    revocations.add(issued.principal.token_id, issued.principal.expires_at)
    with pytest.raises(Unauthorized, match="token revoked"):
        gate.verify(issued.token)


def test_the_cache_is_bounded_and_a_forged_token_is_never_cached(codec: TokenCodec) -> None:
    gate = AuthGate(codec, Revocations())
    first = codec.issue(0, "u0", Role.STAFF).token
    for user in range(VERIFIED_CACHE + 10):
        gate.verify(first if user == 0 else codec.issue(user, f"u{user}", Role.STAFF).token)
    assert len(gate._verified) == VERIFIED_CACHE
    assert first not in gate._verified
    forged = first[:-2] + ("AA" if not first.endswith("AA") else "BB")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            gate.verify(forged)
    assert forged not in gate._verified
