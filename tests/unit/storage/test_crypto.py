"""The identity vault: encryption that survives key rotation, and keyed lookup hashes."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.fernet import Fernet

from jifen.storage.crypto import IdentityVault, VaultKeyError

NUMBER = "11010519491231002X"
OLD_KEY = IdentityVault.generate_key()
NEW_KEY = IdentityVault.generate_key()
HASH_KEY = IdentityVault.generate_key()


def vault(*keys: str, hash_key: str = HASH_KEY) -> IdentityVault:
    return IdentityVault(list(keys), hash_key)


def test_decrypts_what_it_encrypted() -> None:
    v = vault(NEW_KEY)

    assert v.decrypt(v.encrypt(NUMBER)) == NUMBER
    assert v.decrypt(v.encrypt("张三 +85291234567")) == "张三 +85291234567"


def test_ciphertext_hides_the_number_and_differs_each_time() -> None:
    v = vault(NEW_KEY)

    first, second = v.encrypt(NUMBER), v.encrypt(NUMBER)

    assert NUMBER not in first
    assert first != second


def test_generated_keys_are_fernet_keys_and_all_different() -> None:
    key = IdentityVault.generate_key()

    Fernet(key)
    assert key != IdentityVault.generate_key()


def test_decrypts_values_from_an_older_key_once_a_new_key_is_put_first() -> None:
    token = vault(OLD_KEY).encrypt(NUMBER)

    assert vault(NEW_KEY, OLD_KEY).decrypt(token) == NUMBER


def test_encrypts_new_values_under_the_newest_key() -> None:
    token = vault(NEW_KEY, OLD_KEY).encrypt(NUMBER)

    assert vault(NEW_KEY).decrypt(token) == NUMBER
    with pytest.raises(VaultKeyError):
        vault(OLD_KEY).decrypt(token)


def test_rotated_values_decrypt_with_only_the_newest_key() -> None:
    token = vault(OLD_KEY).encrypt(NUMBER)

    rotated = vault(NEW_KEY, OLD_KEY).rotate(token)

    assert vault(NEW_KEY).decrypt(rotated) == NUMBER


def test_refuses_to_decrypt_under_a_key_it_does_not_hold() -> None:
    token = vault(OLD_KEY).encrypt(NUMBER)

    with pytest.raises(VaultKeyError) as caught:
        vault(NEW_KEY).decrypt(token)

    assert isinstance(caught.value, ValueError)
    assert "Add the key it was encrypted under" in str(caught.value)


def test_refuses_to_rotate_a_value_under_a_key_it_does_not_hold() -> None:
    token = vault(OLD_KEY).encrypt(NUMBER)

    with pytest.raises(VaultKeyError):
        vault(NEW_KEY).rotate(token)


@pytest.mark.parametrize("token", ["", "not a token", "gAAAAAB" + "x" * 80, "密文"])
def test_refuses_damaged_ciphertext(token: str) -> None:
    with pytest.raises(VaultKeyError):
        vault(NEW_KEY).decrypt(token)


def test_refuses_an_empty_key_list() -> None:
    with pytest.raises(VaultKeyError, match="at least one encryption key"):
        IdentityVault([], HASH_KEY)


def test_refuses_a_key_that_is_not_a_fernet_key_without_echoing_it() -> None:
    with pytest.raises(VaultKeyError, match="Encryption key 2 is not a Fernet key") as caught:
        vault(NEW_KEY, "hunter2-not-a-key")

    assert "hunter2" not in str(caught.value)


def test_refuses_a_short_hash_key() -> None:
    with pytest.raises(VaultKeyError, match="at least 32"):
        vault(NEW_KEY, hash_key="short")


def test_lookup_hash_is_the_same_for_the_same_identity() -> None:
    first = vault(NEW_KEY).lookup_hash("resident_id", NUMBER)

    assert first == vault(OLD_KEY).lookup_hash("resident_id", NUMBER)
    assert first == vault(NEW_KEY).lookup_hash("resident_id", " 11010519491231002x ")
    assert len(first) == 64
    assert int(first, 16) >= 0


def test_lookup_hash_differs_for_another_number_or_id_type() -> None:
    v = vault(NEW_KEY)

    assert v.lookup_hash("resident_id", NUMBER) != v.lookup_hash(
        "resident_id", "110105194912310038"
    )
    assert v.lookup_hash("resident_id", "E12345678") != v.lookup_hash("passport", "E12345678")


def test_lookup_hash_differs_under_another_hash_key() -> None:
    other = IdentityVault.generate_key()

    assert vault(NEW_KEY).lookup_hash("resident_id", NUMBER) != vault(
        NEW_KEY, hash_key=other
    ).lookup_hash("resident_id", NUMBER)


def test_phone_hash_ignores_separators_and_differs_between_phones() -> None:
    v = vault(NEW_KEY)

    assert v.phone_hash("138-1234 5678") == v.phone_hash("13812345678")
    assert v.phone_hash("13812345678") != v.phone_hash("13812345679")
    assert v.phone_hash("13812345678") != vault(NEW_KEY, hash_key=OLD_KEY).phone_hash("13812345678")


def test_phone_hash_never_collides_with_an_id_hash_of_the_same_digits() -> None:
    v = vault(NEW_KEY)

    assert v.phone_hash("13812345678") != v.lookup_hash("phone", "13812345678")


def test_lookup_hash_is_hmac_sha256_of_type_and_normalised_number() -> None:
    expected = hmac.new(
        HASH_KEY.encode(), f"resident_id:{NUMBER}".encode(), hashlib.sha256
    ).hexdigest()

    assert vault(NEW_KEY).lookup_hash("resident_id", NUMBER.lower()) == expected
