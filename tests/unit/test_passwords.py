from __future__ import annotations

from shared.services.auth import hash_password, verify_password


def test_a_password_verifies_against_its_own_hash_only() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong horse", stored)
    assert hash_password("correct horse") != stored  # salted


def test_malformed_hashes_never_verify() -> None:
    for stored in ("", "plain", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$AAAA$AAAA"):
        assert not verify_password("anything", stored)
