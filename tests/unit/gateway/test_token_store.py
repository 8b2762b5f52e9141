import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from gateway.upstream import token_store
from gateway.upstream.token_store import Grant, TokenStore


def test_saves_atomically_with_private_permissions(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens")
    store.save("t1", Grant("first", 1.0))
    store.save("t1", Grant("second", 2.0))
    assert store.load("t1") == Grant("second", 2.0)
    assert stat.S_IMODE((tmp_path / "tokens" / "t1.json").stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "tokens").iterdir()] == ["t1.json"]  # no temporary file left
    assert store.load("other") is None


def test_a_crash_during_the_write_keeps_the_old_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = TokenStore(tmp_path)
    store.save("t1", Grant("old", 1.0))

    def crash(src: str, dst: str) -> None:
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(token_store.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        store.save("t1", Grant("new", 2.0))
    monkeypatch.undo()
    assert store.load("t1") == Grant("old", 1.0)
    assert sorted(os.listdir(tmp_path)) == ["t1.json"]


def test_an_unreadable_token_file_is_an_operator_error(tmp_path: Path) -> None:
    (tmp_path / "t1.json").write_text("{not json")
    os.chmod(tmp_path / "t1.json", 0o600)
    with pytest.raises(token_store.TokenStoreError, match="reconnect"):
        TokenStore(tmp_path).load("t1")


def test_an_open_directory_or_file_is_refused_not_repaired(tmp_path: Path) -> None:
    directory = tmp_path / "tokens"
    directory.mkdir(mode=0o700)
    os.chmod(directory, 0o755)
    with pytest.raises(token_store.TokenStoreError, match="chmod 700"):
        TokenStore(directory).save("t1", Grant("x", 1.0))
    os.chmod(directory, 0o700)
    TokenStore(directory).save("t1", Grant("x", 1.0))
    os.chmod(directory / "t1.json", 0o644)
    with pytest.raises(token_store.TokenStoreError, match="chmod 600"):
        TokenStore(directory).load("t1")


KEY_1, KEY_2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def test_tokens_are_encrypted_at_rest(tmp_path: Path) -> None:
    store = TokenStore(tmp_path, [KEY_1])
    store.save("t1", Grant("refresh-secret-123", 5.0))
    assert "refresh-secret-123" not in (tmp_path / "t1.json").read_text()
    assert store.load("t1") == Grant("refresh-secret-123", 5.0)
    with pytest.raises(token_store.TokenStoreError, match=r"no server\.token_store_keys"):
        TokenStore(tmp_path).load("t1")
    with pytest.raises(token_store.TokenStoreError, match=r"not in server\.token_store_keys"):
        TokenStore(tmp_path, [KEY_2]).load("t1")


def test_a_key_is_rotated_by_putting_the_new_one_first(tmp_path: Path) -> None:
    TokenStore(tmp_path, [KEY_1]).save("t1", Grant("r1", 1.0))
    rotating = TokenStore(tmp_path, [KEY_2, KEY_1])
    assert rotating.load("t1") == Grant("r1", 1.0)  # the old key still decrypts
    rotating.save("t1", Grant("r2", 2.0))  # the next renewal writes under the new key
    assert TokenStore(tmp_path, [KEY_2]).load("t1") == Grant("r2", 2.0)


def test_a_clear_token_file_is_still_read_and_rewritten_encrypted(tmp_path: Path) -> None:
    TokenStore(tmp_path).save("t1", Grant("legacy", 1.0))
    store = TokenStore(tmp_path, [KEY_1])
    assert store.load("t1") == Grant("legacy", 1.0)
    store.save("t1", Grant("legacy2", 2.0))
    assert "legacy2" not in (tmp_path / "t1.json").read_text()


def test_a_malformed_key_is_an_operator_error(tmp_path: Path) -> None:
    with pytest.raises(token_store.TokenStoreError, match="not a Fernet key"):
        TokenStore(tmp_path, ["not-a-key"])
