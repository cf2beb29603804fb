"""At-rest protection of ID numbers and phones: rotating encryption and keyed lookup hashes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from jifen.domain.identity import normalise_id_number, normalise_phone

MIN_HASH_KEY_LENGTH = 32


class VaultKeyError(ValueError):
    """A key the vault cannot use, or a ciphertext that none of the vault's keys opens."""


class IdentityVault:
    """Encrypts ID numbers and phones under rotating keys, and hashes them for unique lookups.

    `keys` are Fernet keys, newest first: new values are encrypted under the first key and every key
    still decrypts, so a key can be added in front, stored values rotated, and the old key dropped.
    `hash_key` keys the HMAC behind lookup hashes. It does not rotate: the hashes are unique
    indexes, and a new hash key would make every stored hash unfindable.
    """

    __slots__ = ("_fernet", "_hash_key", "_number_hash_key", "_phone_hash_key")

    def __init__(self, keys: Sequence[str], hash_key: str) -> None:
        if not keys:
            msg = "The vault needs at least one encryption key; make one with generate_key()."
            raise VaultKeyError(msg)
        if len(hash_key) < MIN_HASH_KEY_LENGTH:
            msg = (
                f"The hash key has {len(hash_key)} characters; it needs at least "
                f"{MIN_HASH_KEY_LENGTH}. Make one with generate_key()."
            )
            raise VaultKeyError(msg)
        self._fernet = MultiFernet([_fernet(key, position=n) for n, key in enumerate(keys, 1)])
        self._hash_key = hash_key.encode()
        # A key of its own for phones, so no phone hash can ever equal an identity hash.
        self._phone_hash_key = _hmac(self._hash_key, "jifen phone hash")
        self._number_hash_key = _hmac(self._hash_key, "jifen id number hash")

    @staticmethod
    def generate_key() -> str:
        """A new random key, usable as an encryption key or as the hash key."""
        return Fernet.generate_key().decode("ascii")

    def encrypt(self, text: str) -> str:
        """Ciphertext of `text` under the newest key; encrypting twice gives different tokens."""
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The text behind `token`, under whichever of the vault's keys it was encrypted with."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise _unreadable() from None

    def rotate(self, token: str) -> str:
        """`token` re-encrypted under the newest key, so older keys can be retired."""
        try:
            return self._fernet.rotate(token.encode()).decode("ascii")
        except InvalidToken:
            raise _unreadable() from None

    def lookup_hash(self, id_type: str, id_number: str) -> str:
        """A deterministic keyed hash (hex) of an identity, fit for a unique index."""
        return _hmac(self._hash_key, f"{id_type}:{normalise_id_number(id_number)}").hex()

    def number_hash(self, id_number: str) -> str:
        """A keyed hash (hex) of an ID number alone, whatever its type: one member per number."""
        return _hmac(self._number_hash_key, normalise_id_number(id_number)).hex()

    def phone_hash(self, phone: str) -> str:
        """A deterministic keyed hash (hex) of a phone, fit for a lookup index."""
        return _hmac(self._phone_hash_key, normalise_phone(phone)).hex()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _fernet(key: str, *, position: int) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        # The key itself is never echoed: the message may end up in a log.
        msg = (
            f"Encryption key {position} is not a Fernet key (32 url-safe base64-encoded bytes); "
            "make one with generate_key()."
        )
        raise VaultKeyError(msg) from None


def _unreadable() -> VaultKeyError:
    return VaultKeyError(
        "The value cannot be decrypted with any of the vault's keys: it was encrypted under a key "
        "that is no longer configured, or it is damaged. Add the key it was encrypted under to the "
        "end of the key list."
    )
