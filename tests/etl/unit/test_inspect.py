"""Bronze's look at a file's bytes: what is rejected whole, and how the rest is read."""

from __future__ import annotations

import gzip
import io

import pytest

from c2c_etl.bronze.inspect import LATIN1, UTF8, explain_unknown_header, inspect_lines
from c2c_etl.sources import SOURCE_KINDS, USERS_2020

HEADER = ",".join(USERS_2020.columns)
ROW = "1,user,Suède,en,3,8,0,0,0,0.0,0,0,F,2,mrs,False,False,False,True,709,3205,106.83,8.9,se"
KNOWN = [k.columns for k in SOURCE_KINDS]


def _inspect(content: bytes):
    return inspect_lines(io.BytesIO(content))


def test_a_utf8_file_is_read_as_utf8_and_its_data_lines_counted():
    check = _inspect(f"{HEADER}\r\n{ROW}\r\n\r\n  \n{ROW}".encode())
    assert check.problem is None
    assert check.encoding == UTF8
    assert check.header == USERS_2020.columns
    assert check.data_lines == 2  # blank lines are not rows: Spark skips them too
    assert check.note is None


def test_a_latin1_file_is_read_as_latin1_and_says_so():
    check = _inspect(f"{HEADER}\n{ROW}\n".encode("latin-1"))
    assert check.problem is None
    assert check.encoding == LATIN1
    assert "ISO-8859-1" in (check.note or "")


def test_a_byte_order_mark_is_accepted_and_noted():
    check = _inspect(f"\ufeff{HEADER}\n{ROW}\n".encode())
    assert check.header == USERS_2020.columns
    assert check.encoding == UTF8
    assert "byte order mark" in (check.note or "")


@pytest.mark.parametrize(
    ("content", "detected", "words"),
    [
        (b"", "empty", "0 bytes"),
        (gzip.compress(f"{HEADER}\n{ROW}\n".encode(), mtime=0), "gzip", "gzip"),
        (f"{HEADER}\n{ROW}\n".encode("utf-16"), "utf-16", "UTF-16"),
        (f"{HEADER}\n{ROW}\n".encode("utf-16-le"), "utf-16", "UTF-16"),
        (b"\x00\x01\x02\x03binary\x04\x05\n\x06", "binary", "binary"),
        (f"{HEADER}\n{ROW}\n".encode() + "Suède\n".encode("latin-1"), "mixed", "mixed"),
        (f"{HEADER}\n1,Cœur\n".encode("cp1252"), "windows-1252", "export as UTF-8"),
    ],
)
def test_unreadable_files_are_rejected_whole_with_a_reason(content, detected, words):
    check = _inspect(content)
    assert check.detected == detected
    assert check.encoding is None
    assert words in (check.problem or "")


def test_a_line_wider_than_sparks_limit_raises_the_limit_instead_of_failing_the_read():
    check = _inspect(f"{HEADER}\n{ROW}{',' * 30000}\n".encode())
    assert check.problem is None
    assert check.max_columns > 30000


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ((HEADER.replace(",", ";"),), "not comma-delimited (found ';')"),
        ((*USERS_2020.columns, "loyaltyTier"), "unknown column(s) loyaltyTier"),
        (USERS_2020.columns[:-1], "missing column(s) countryCode"),
        (("what", "is", "this"), "unknown header: what,is,this"),
    ],
)
def test_an_unknown_header_says_what_differs_from_the_closest_kind(header, words):
    assert words in explain_unknown_header(header, KNOWN)
