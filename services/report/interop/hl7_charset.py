"""Character sets an HL7 v2 message may be sent in, named as HL7 table 0211 names them.

The name goes into MSH-18 and decides the bytes on the wire. UTF-8 is the default; some HIS in
China only read GB 18030. MSH-1..MSH-18 are ASCII, so a receiver can read MSH-18 before decoding.
"""

from __future__ import annotations

from typing import Literal, get_args

Hl7Charset = Literal["UNICODE UTF-8", "GB 18030-2000"]
DEFAULT_CHARSET: Hl7Charset = "UNICODE UTF-8"
CHARSETS: tuple[Hl7Charset, ...] = get_args(Hl7Charset)

# Python's gb18030 codec is the 2005 edition, a superset of 2000 for every character we print.
_CODECS: dict[Hl7Charset, str] = {"UNICODE UTF-8": "utf-8", "GB 18030-2000": "gb18030"}
_MIME: dict[Hl7Charset, str] = {"UNICODE UTF-8": "utf-8", "GB 18030-2000": "gb18030"}


def codec(charset: Hl7Charset) -> str:
    """Return the Python codec for an MSH-18 value."""
    return _CODECS[charset]


def mime_charset(charset: Hl7Charset) -> str:
    """Return the IANA name for an HTTP ``Content-Type`` charset parameter."""
    return _MIME[charset]


def encode(message: str, charset: Hl7Charset) -> bytes:
    """Encode an ER7 message in ``charset`` (every character of Unicode exists in both)."""
    return message.encode(codec(charset))


def of_config(config: dict[str, object]) -> Hl7Charset:
    """Return a channel's character set; channels made before the option send UTF-8."""
    value = config.get("charset", DEFAULT_CHARSET)
    return value if value in CHARSETS else DEFAULT_CHARSET
