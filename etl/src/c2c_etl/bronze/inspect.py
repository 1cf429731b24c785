"""What a landed file's bytes are, before Spark reads them: text or not, which encoding, how
many data lines, the widest line.

Spark's CSV reader is forgiving in ways that hide problems: it decodes any bytes as UTF-8 with
replacement characters, reads a gzip or UTF-16 file as one garbage line, skips blank lines, and
fails the whole read on a line wider than ``maxColumns``. So every new file is looked at once,
here, and either rejected whole with a reason an operator can act on, or read with the right
encoding and limits. ``data_lines`` is an independent count of the rows Spark must return.

Pure: it takes the file's bytes in blocks (``c2c_etl.io.file_blocks`` reads them for
``jobs/bronze.py``).
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from c2c_etl.sources import parse_header

UTF8, LATIN1 = "UTF-8", "ISO-8859-1"  # charset names Spark 4's CSV reader accepts
SPARK_MAX_COLUMNS = 20480  # Spark's default maxColumns: a wider line fails the whole read
BLANK = bytes(range(33))  # what Spark's trim() removes: a line of only these is skipped
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"
# A valid UTF-8 multi-byte sequence: its presence in a non-UTF-8 file means mixed encodings.
UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
# C0 controls other than tab, LF, CR: not in any text file this platform receives. Found by
# deleting them (``_has_control``), which is faster than searching for them.
CONTROL_BYTES = bytes(b for b in range(0x20) if b not in b"\t\n\r")
C1_CONTROL = re.compile(rb"[\x80-\x9f]")


@dataclass(frozen=True)
class ContentCheck:
    """What one file is. ``problem`` is set when the file is rejected whole, else None."""

    size: int
    detected: str  # utf-8, utf-8 with byte order mark, iso-8859-1, utf-16, gzip, binary, ...
    encoding: str | None  # the charset to read with; None when the file is rejected
    header: tuple[str, ...]
    data_lines: int  # non-blank lines after the header: the rows Spark must return
    max_fields: int  # comma-separated fields of the widest line (quotes ignored: an upper bound)
    problem: str | None = None
    # The last data line's bytes when the file does not end with a line end: a file cut short
    # (a partial upload) ends so, and its last row may hold a cut value that still parses.
    unterminated: bytes | None = None

    @property
    def note(self) -> str | None:
        """What the ingestion log says about an accepted file whose bytes needed care."""
        if self.detected == "iso-8859-1":
            return "not valid UTF-8: read as ISO-8859-1 (Latin-1)"
        if self.detected == "utf-8 with byte order mark":
            return "UTF-8 byte order mark ignored"
        return None

    @property
    def max_columns(self) -> int:
        """Spark's ``maxColumns`` for this file: wide enough that no line fails the read (a
        too-wide line is then a malformed row, quarantined with the others)."""
        return max(SPARK_MAX_COLUMNS, self.max_fields + 1)


# Lines whose bytes are all at most 0x20 except the newline (Spark skips them), in a block of
# whole lines: the block's first line, and each line after a newline (the look-ahead leaves
# that line's own newline to the next match). Only newlines start a search, so a block is
# scanned at memchr speed, not tried at every byte as a ``^`` in multi-line mode is.
BLANK_FIRST_LINE = re.compile(rb"[\x00-\x09\x0b-\x20]*(?:\n|\Z)")
BLANK_NEXT_LINE = re.compile(rb"\n[\x00-\x09\x0b-\x20]*(?=\n|\Z)")
# Every byte but commas and newlines: deleted, each line is its commas alone.
NOT_COMMA_OR_NEWLINE = bytes(b for b in range(256) if b not in b",\n")


def _whole_lines(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """``blocks`` (any cut) re-cut after their last ``\n``: each yielded block is whole lines,
    every line ending in ``\n`` but possibly the file's last."""
    carry: list[bytes] = []  # pieces of a line not ended yet (joined once, however long)
    for block in blocks:
        cut = block.rfind(b"\n") + 1
        if cut == 0:
            carry.append(block)
            continue
        yield b"".join([*carry, block[:cut]])
        carry = [block[cut:]]
    if any(carry):
        yield b"".join(carry)


def inspect_blocks(blocks: Iterable[bytes]) -> ContentCheck:
    """Classify a file from its bytes, given as blocks cut anywhere (``io.file_blocks``; the
    lines of a binary file are blocks too).

    Every check runs on a block of whole lines at a time, in C (regular expressions, the
    incremental UTF-8 decoder, ``bytes.translate`` and ``bytes.count``), not line by line in
    Python. None of the patterns can match across a ``\n``, so a block search finds what a
    line search does. Its time on the 10M-user CSVs (1 GB) is in ``make bench``'s report.
    """
    first = b""
    size = data_lines = max_fields = 0
    lines_seen = blank = 0
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_error: str | None = None
    has_multibyte = has_c1 = has_control = False
    last = b""
    for block in _whole_lines(blocks):
        last = block
        if not first:
            first = block[: block.find(b"\n") + 1] if b"\n" in block else block
        # The last line's end: the block's, or its final newline's (not followed by a line).
        end = len(block) - 1 if block.endswith(b"\n") else len(block)
        lines_seen += block.count(b"\n", 0, end) + 1
        blank += bool(BLANK_FIRST_LINE.match(block, 0, end))
        blank += len(BLANK_NEXT_LINE.findall(block, 0, end))
        commas = block.translate(None, NOT_COMMA_OR_NEWLINE).split(b"\n")
        max_fields = max(max_fields, max(map(len, commas)) + 1)
        if utf8_error is None:
            try:
                utf8.decode(block)
            except UnicodeDecodeError as e:
                bad = size - len(utf8.getstate()[0]) + e.start
                utf8_error = f"byte 0x{e.object[e.start]:02x} at offset {bad}"
        size += len(block)
        has_multibyte = has_multibyte or bool(UTF8_MULTIBYTE.search(block))
        has_c1 = has_c1 or bool(C1_CONTROL.search(block))
        has_control = has_control or _has_control(block)
    if utf8_error is None:
        try:  # a multi-byte sequence cut off by the end of the file is not UTF-8 either
            utf8.decode(b"", final=True)
        except UnicodeDecodeError as e:
            utf8_error = (
                f"byte 0x{e.object[e.start]:02x} at offset {size - len(e.object) + e.start}"
            )
    if lines_seen:
        # Every line but the header that is not blank.
        data_lines = lines_seen - blank - (0 if not first.strip(BLANK) else 1)

    def rejected(detected: str, problem: str) -> ContentCheck:
        return ContentCheck(size, detected, None, (), data_lines, max_fields, problem)

    if size == 0:
        return rejected("empty", "empty file (0 bytes)")
    if first.startswith(GZIP_MAGIC):
        return rejected(
            "gzip",
            "gzip-compressed but not named .gz: name it <name>.csv.gz, or decompress it",
        )
    if first.startswith(ZIP_MAGIC):
        return rejected("zip", "a zip archive, not a CSV: extract it and deliver the CSV files")
    if first.startswith(UTF16_BOMS) or _every_other_byte_nul(first):
        return rejected("utf-16", "UTF-16 encoded: export as UTF-8")
    if _has_control(first):
        return rejected("binary", "binary content: control bytes in the first line")
    if b"\n" not in first and b"\r" in first.rstrip(b"\r"):
        return rejected(
            "cr line endings",
            f"classic Mac line endings (CR only, no LF): the whole file reads as one line of "
            f"{size} bytes; save it with LF or CRLF line endings",
        )
    if utf8_error is None:
        detected = "utf-8 with byte order mark" if first.startswith(UTF8_BOM) else "utf-8"
        encoding, text = UTF8, first.decode("utf-8")
    elif has_multibyte:
        return rejected(
            "mixed", f"mixed encodings: UTF-8 and non-UTF-8 text ({utf8_error}): export as UTF-8"
        )
    elif has_c1 or has_control:
        return rejected(
            "windows-1252",
            f"not UTF-8 ({utf8_error}) and not Latin-1 text: bytes 0x80-0x9f or control bytes "
            "(Windows-1252?), which Spark cannot decode: export as UTF-8",
        )
    else:
        detected, encoding, text = "iso-8859-1", LATIN1, first.decode("latin-1")
    header = parse_header(text)
    tail = None
    if not last.endswith(b"\n") and lines_seen > 1:
        tail = last[last.rfind(b"\n") + 1 :]
        tail = tail if tail.strip(BLANK) else None
    return ContentCheck(size, detected, encoding, header, data_lines, max_fields, None, tail)


class GzipError(ValueError):
    """A file named ``.gz`` whose bytes are not a whole gzip stream."""


def gunzip_blocks(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """The decompressed bytes of a gzip file given as blocks (several members follow each
    other, as ``cat a.gz b.gz`` makes them). Raises :class:`GzipError` on bytes that are not
    gzip or a stream cut short."""
    stream = zlib.decompressobj(wbits=31)
    seen = False
    try:
        for block in blocks:
            while block:
                seen = True
                yield stream.decompress(block)
                if not stream.eof:
                    break
                block = stream.unused_data
                stream = zlib.decompressobj(wbits=31)
                seen = False
        yield stream.flush()
    except zlib.error as error:
        raise GzipError(f"not a readable gzip file ({error})") from error
    if seen and not stream.eof:
        raise GzipError("gzip stream cut short (a partial upload?)")


def inspect_file(blocks: Iterable[bytes], name: str) -> ContentCheck:
    """:func:`inspect_blocks` on a file's bytes, decompressed first when its name ends with
    ``.gz``: Spark decompresses a file by that suffix (lower case) and reads the CSV inside."""
    if not name.endswith(".gz"):
        return inspect_blocks(blocks)
    try:
        return inspect_blocks(gunzip_blocks(blocks))
    except GzipError as error:
        return ContentCheck(0, "gzip", None, (), 0, 0, f"{error}: deliver it again")


def _has_control(data: bytes) -> bool:
    return len(data.translate(None, CONTROL_BYTES)) < len(data)


def _every_other_byte_nul(line: bytes) -> bool:
    """UTF-16 without a byte order mark: ASCII text with a NUL before or after each byte."""
    halves = (line[0::2], line[1::2])
    return len(line) >= 4 and any(h.count(0) >= 0.9 * len(h) for h in halves)


def explain_unknown_header(header: tuple[str, ...], known: Iterable[tuple[str, ...]]) -> str:
    """Why a header matches no source kind, against the closest kind (most shared columns):
    a delimiter that is not a comma, or the columns it has too many and too few."""
    shown = ",".join(header)[:300]
    if len(header) == 1 and (";" in header[0] or "\t" in header[0] or "|" in header[0]):
        delimiter = next(d for d in (";", "\t", "|") if d in header[0])
        return f"unknown header: not comma-delimited (found {delimiter!r}): {shown}"
    closest = max(known, key=lambda cols: len(set(cols) & set(header)))
    shared = set(closest) & set(header)
    if len(shared) * 2 < len(closest):
        return f"unknown header: {shown}"
    extra = [c for c in header if c not in closest]
    missing = [c for c in closest if c not in header]
    repeated = sorted({c for c in header if header.count(c) > 1})
    parts = []
    if "" in extra:
        position = header.index("") + 1
        where = "the last" if position == len(header) else f"column {position}"
        extra = [c for c in extra if c]
        parts.append(
            f"an empty column name ({where}: a comma at the end of each line?): "
            "remove the trailing commas"
        )
    if extra:
        parts.append("unknown column(s) " + _names(extra))
    if missing:
        parts.append("missing column(s) " + _names(missing))
    if repeated:
        parts.append("repeated column(s) " + _names(repeated))
    return f"unknown header: {'; '.join(parts)}"


def _names(columns: list[str], shown: int = 8) -> str:
    """Column names for a reason, the first ``shown`` of them: a reason stays one line."""
    more = f" and {len(columns) - shown} more" if len(columns) > shown else ""
    return ", ".join(c[:60] for c in columns[:shown]) + more
