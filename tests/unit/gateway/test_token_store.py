import os
import stat
from pathlib import Path

import pytest

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
    with pytest.raises(token_store.TokenStoreError, match="reconnect"):
        TokenStore(tmp_path).load("t1")


def test_an_existing_open_directory_is_closed_down(tmp_path: Path) -> None:
    directory = tmp_path / "tokens"
    directory.mkdir(mode=0o777)
    os.chmod(directory, 0o777)
    TokenStore(directory).save("t1", Grant("x", 1.0))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
