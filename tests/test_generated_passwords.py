"""Passwords the product makes up must survive being pasted into a command line."""

from __future__ import annotations

from robodine_edge.auth.passwords import new_password
from robodine_edge.cli import build_parser

# One in 64 of token_urlsafe's answers starts with "-": 4,000 draws would meet one with
# a probability of 1 - (63/64)**4000, more than 1 - 1e-27.
DRAWS = 4000


def test_a_generated_password_never_starts_with_a_dash() -> None:
    passwords = [new_password() for _ in range(DRAWS)]
    assert not [p for p in passwords if p.startswith("-")]
    assert all(len(p) == 16 for p in passwords)  # 12 bytes of randomness each
    assert len(set(passwords)) == DRAWS


def test_every_generated_password_is_read_by_simulate_as_the_admin_password() -> None:
    """The README pastes `var/initial-admin-password` after `--admin-password`; a value
    beginning with a dash made argparse stop with 'expected one argument' (seen in CI)."""
    parser = build_parser()
    for password in (new_password(9) for _ in range(DRAWS)):
        args = parser.parse_args(["simulate", "--admin-password", password, "--duration", "1"])
        assert args.admin_password == password
