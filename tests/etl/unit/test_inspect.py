"""Bronze's look at a file's bytes: what is rejected whole, and how the rest is read."""

from __future__ import annotations

import gzip
import io
import random

import pytest

from c2c_etl.bronze.inspect import (
    LATIN1,
    UTF8,
    explain_unknown_header,
    inspect_blocks,
    inspect_file,
)
from c2c_etl.sources import SOURCE_KINDS, USERS_2020, parse_header

HEADER = ",".join(USERS_2020.columns)
ROW = "1,user,Suède,en,3,8,0,0,0,0.0,0,0,F,2,mrs,False,False,False,True,709,3205,106.83,8.9,se"
KNOWN = [k.columns for k in SOURCE_KINDS]


def _inspect(content: bytes):
    return inspect_blocks(io.BytesIO(content))  # a binary file's lines are blocks too


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
        (gzip.compress(f"{HEADER}\n{ROW}\n".encode(), mtime=0), "gzip", "name it <name>.csv.gz"),
        (b"PK\x03\x04" + bytes(40), "zip", "extract it"),
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


# --- the block-wise inspection gives what a line-by-line reading gives ------------------------


def _line_by_line(content: bytes) -> tuple:
    """The reference: each figure computed line by line, the plain way (slow on big files)."""
    lines = io.BytesIO(content).readlines()
    first = lines[0] if lines else b""
    data = sum(1 for line in lines[1:] if line.strip(bytes(range(33))))
    widest = max((line.count(b",") + 1 for line in lines), default=0)
    return len(content), first, data, widest


def _figures(check) -> tuple:
    return check.size, check.detected, check.encoding, check.header, check.data_lines


ALPHABET = [
    b"a",
    b"1",
    b",",
    b",",
    b"\n",
    b"\n",
    b"\r\n",
    b" ",
    b"\t",
    b"\x00",
    b"\x0c",
    "é".encode(),
    b"\xe9",
    b"\x85",
    b'"',
    b"\xef\xbb\xbf",
    b"\x1f\x8b",
    b"\xe2\x82",
]


def _random_contents(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    header = ",".join(USERS_2020.columns).encode() + b"\n"
    found = []
    for i in range(n):
        body = b"".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 60)))
        found.append(header + body if i % 2 else body)
    return found


@pytest.mark.parametrize("content", _random_contents(300))
def test_any_cut_into_blocks_gives_the_line_by_line_figures(content):
    whole = inspect_blocks([content])
    size, _first, data_lines, widest = _line_by_line(content)
    assert (whole.size, whole.data_lines, whole.max_fields) == (size, data_lines, widest)
    cut = random.Random(len(content)).randrange(0, len(content) + 1)
    for blocks in ([content[:cut], content[cut:]], [content[i : i + 1] for i in range(size)]):
        assert _figures(inspect_blocks(blocks)) == _figures(whole)
        assert inspect_blocks(blocks).problem == whole.problem


def test_a_file_ending_inside_a_utf8_character_is_not_utf8():
    check = _inspect(f"{HEADER}\n1,a,".encode() + "é".encode()[:1])
    assert check.encoding == LATIN1


def test_a_bad_byte_is_reported_at_its_offset_in_the_file_whatever_the_blocks():
    content = f"{HEADER}\n1,a,b\n".encode() * 3 + b"x,\x85\n1,a,b\n"
    offset = content.index(b"\x85")
    for size in (1, 2, 7, 4096):
        blocks = [content[i : i + size] for i in range(0, len(content), size)]
        check = inspect_blocks(blocks)
        assert check.detected == "windows-1252"
        assert f"byte 0x85 at offset {offset}" in (check.problem or "")


def test_a_last_line_with_no_line_end_is_kept_for_bronze_to_find_its_row():
    cut = f"{HEADER}\n{ROW}\n{ROW[:-4]}".encode()
    assert _inspect(cut).unterminated == ROW[:-4].encode()
    assert _inspect(cut).data_lines == 2
    assert _inspect(f"{HEADER}\n{ROW}\n".encode()).unterminated is None
    assert _inspect(f"{HEADER}\r\n{ROW}\r\n".encode()).unterminated is None
    # A header with no line end is no row; nor are blanks after the last line end.
    assert _inspect(HEADER.encode()).unterminated is None
    assert _inspect(f"{HEADER}\n{ROW}\n  ".encode()).unterminated is None


def test_cr_only_line_endings_are_named_in_a_short_reason():
    content = ("\r".join([HEADER] + [ROW] * 2000) + "\r").encode()
    check = _inspect(content)
    assert check.detected == "cr line endings" and check.encoding is None
    assert "CR only" in (check.problem or "") and "LF or CRLF" in (check.problem or "")
    assert len(check.problem or "") < 200


def test_a_gz_file_is_inspected_decompressed_as_spark_reads_it():
    text = f"{HEADER}\n{ROW}\n{ROW}\n".encode()
    packed = gzip.compress(text, mtime=0)
    check = inspect_file(io.BytesIO(packed), "deep/users.csv.gz")
    assert check.problem is None and check.header == USERS_2020.columns
    assert check.data_lines == 2
    # Two members one after the other (cat a.gz b.gz) are one stream of lines.
    both = inspect_file(io.BytesIO(packed + gzip.compress(f"{ROW}\n".encode())), "u.csv.gz")
    assert both.data_lines == 3
    cut = inspect_file(io.BytesIO(packed[:-10]), "users.csv.gz")
    assert cut.encoding is None and "cut short" in (cut.problem or "")
    garbage = inspect_file(io.BytesIO(b"not gzip at all"), "users.csv.gz")
    assert "not a readable gzip file" in (garbage.problem or "")
    # Only the lower-case suffix is decompressed, as Spark does: .GZ is rejected by its bytes.
    assert "name it" in (inspect_file(io.BytesIO(packed), "users.csv.GZ").problem or "")


def test_a_trailing_comma_on_every_line_names_the_empty_column():
    reason = explain_unknown_header(parse_header(HEADER + ","), KNOWN)
    assert "empty column name (the last" in reason and "trailing commas" in reason
    assert "unknown column(s)" not in reason


def test_an_unknown_header_names_at_most_a_few_columns():
    header = (*USERS_2020.columns, *[f"extra{i}" for i in range(5000)])
    reason = explain_unknown_header(header, KNOWN)
    assert "extra0" in reason and "and 4992 more" in reason and len(reason) < 400
