"""sandboxes.toolkit.base64url: unpadded URL-safe base64."""

from __future__ import annotations

import binascii

import pytest

from sandboxes.toolkit.base64url import b64url_decode, b64url_encode


@pytest.mark.parametrize("data", [b"", b"f", b"fo", b"foo", b"\xfb\xff\xfe", b'["Smith","0b1c"]'])
def test_round_trip(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text and "+" not in text and "/" not in text
    assert b64url_decode(text) == data


def test_encode_uses_the_url_alphabet() -> None:
    assert b64url_encode(b"\xfb\xff\xfe") == "-__-"


def test_decode_accepts_padding() -> None:
    assert b64url_decode("Zm8=") == b"fo"


@pytest.mark.parametrize("text", ["@@@@", "Zm9v!", "Z", "Zm9vY"])
def test_decode_is_strict(text: str) -> None:
    with pytest.raises(binascii.Error):
        b64url_decode(text)


def test_decode_rejects_non_ascii() -> None:
    with pytest.raises(ValueError):
        b64url_decode("Zé9v")
