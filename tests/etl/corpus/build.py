"""The bad-input corpus's files, built from one valid row: ``python -m tests.etl.corpus.build``
rewrites the committed ones under ``files/``; the test writes the generated ones (binary,
compressed, UTF-16, a 10 MB line) into its landing folder, as they are not sensible in git.

Every case uses its own identifiers (``<case number> * 1000 + n``), so all cases can share one
landing folder and one run without a user of one case superseding a user of another.
"""

from __future__ import annotations

import gzip
import random
import sys
from collections.abc import Callable
from pathlib import Path

from c2c_etl.sources import USERS_2020, USERS_2024
from tests.etl.helpers import VALID_USER

FILES = Path(__file__).parent / "files"
H2020 = ",".join(USERS_2020.columns)
H2024 = ",".join(USERS_2024.columns)


def row(uid: int, columns: tuple[str, ...] = USERS_2020.columns, **values: str) -> str:
    """One CSV line (no line end) of a valid user, with some values replaced."""
    record = {**VALID_USER, "identifierHash": str(uid), **values}
    return ",".join(record[c] for c in columns)


def lines(*parts: str, end: str = "\n") -> bytes:
    return "".join(p + end for p in parts).encode()


def _text_cases() -> dict[str, bytes]:
    r = row
    return {
        "truncated_last_line/users.csv": (lines(H2020, r(1001), r(1002)) + r(1003)[:40].encode()),
        "extra_columns/users.csv": lines(H2020, r(2001), r(2002) + ",surplus", r(2003)),
        "missing_columns/users.csv": lines(H2020, r(3001), r(3002).rsplit(",", 1)[0], r(3003)),
        "semicolon_delimited/users.csv": lines(H2020.replace(",", ";"), r(4001).replace(",", ";")),
        "latin1_names/users.csv": (
            lines(H2020)
            + (r(5001, country="Suède", countryCode="se") + "\n").encode("latin-1")
            + (r(5002, country="Corée du Sud", countryCode="kr") + "\n").encode("latin-1")
        ),
        "utf8_bom/users.csv": b"\xef\xbb\xbf" + lines(H2020, r(6001), r(6002)),
        "empty_file/users.csv": b"",
        "header_only/users.csv": lines(H2024),
        "header_repeated_mid_file/users.csv": lines(H2020, r(9001), r(9002), H2020, r(9003)),
        "quoted_newline/users.csv": lines(
            H2020, r(10001), r(10002, country='"Etats\nUnis"'), r(10003)
        ),
        "unknown_new_column/users.csv": lines(H2020 + ",loyaltyTier", r(11001) + ",gold"),
        "missing_header_column/users.csv": lines(
            H2020.rsplit(",", 1)[0], r(12001).rsplit(",", 1)[0]
        ),
        "text_in_numeric/users.csv": lines(H2020, r(13001), r(13002, productsSold="abc")),
        "numeric_overflow/users.csv": lines(
            H2020,
            r(14001),
            r(14002, socialNbFollowers="99999999999"),
            r(14003).replace("14003", "99999999999999999999", 1),
        ),
        "negative_counts/users.csv": lines(H2020, r(15001), r(15002, productsBought="-3")),
        "unknown_country/users.csv": lines(
            H2020, r(16001), r(16002, country="Atlantide", countryCode="zz")
        ),
        "invalid_language/users.csv": lines(H2020, r(17001), r(17002, language="74")),
        "missing_country_code/users_2024.csv": lines(
            H2024,
            r(18001, USERS_2024.columns, country="Allemagne", countryCode="de"),
            r(18002, USERS_2024.columns, country="Allemagne", countryCode=""),
        ),
        "same_file_other_name/users.csv": lines(H2020, r(21001), r(21002)),
        "same_file_other_name/users (copy).csv": lines(H2020, r(21001), r(21002)),
        "same_user_two_files/a_users_2020.csv": lines(
            H2020, r(22001, productsBought="1"), r(22002, productsBought="1")
        ),
        "same_user_two_files/b_users_2020.csv": lines(H2020, r(22002, productsBought="2")),
        "same_user_two_files/c_users_2024.csv": lines(
            H2024, r(22001, USERS_2024.columns, productsBought="5")
        ),
        "crlf_line_endings/users.csv": lines(H2020, r(23001), r(23002), end="\r\n"),
        "trailing_empty_lines/users.csv": lines(H2020, r(24001), r(24002), "", "   ", ""),
        "nul_bytes/users.csv": lines(
            H2020, r(25001), r(25002).replace("25002", "250\x0002", 1), "\x00" + r(25003)
        ),
        "columns_in_other_order/users.csv": lines(
            ",".join(reversed(USERS_2020.columns)),
            ",".join(reversed(r(28001).split(","))),
            ",".join(reversed(r(28002).split(","))),
        ),
        "mixed_encodings/users.csv": (
            lines(H2020, r(30001, country="Suède", countryCode="se"))
            + (r(30002, country="Suède", countryCode="se") + "\n").encode("latin-1")
        ),
        "no_header/users.csv": lines(r(31001), r(31002)),
        "missing_identifier/users.csv": lines(H2020, r(32001), r(32002).replace("32002", "", 1)),
        "pass_rate_out_of_range/users.csv": lines(
            H2020, r(33001), r(33002, productsPassRate="140.0")
        ),
        "windows_1252/users.csv": lines(H2020)
        + (r(34001, civilityTitle="mr") + ",“Cœur”\n").encode("cp1252"),
        "other_extension/users.txt": lines(H2020, r(35001), r(35002)),
        "subfolder/deeper/users.csv": lines(H2020, r(36001), r(36002)),
        "glob_characters/users[1].csv": lines(H2020, r(37001), r(37002)),
        # Cut inside the last value (3803 -> 38): the number still parses; only the missing
        # line end tells.
        "truncated_inside_value/users_2024.csv": lines(
            H2024, r(38001, USERS_2024.columns), r(38002, USERS_2024.columns)
        )
        + r(38003, USERS_2024.columns, websiteLongevity="3803").encode()[:-2],
        "nan_and_infinity/users.csv": lines(
            H2020,
            r(39001),
            r(39002, seniorityAsMonths="NaN"),
            r(39003, seniorityAsYears="-Infinity"),
        ),
        "cr_only_line_endings/users.csv": lines(H2020, r(40001), r(40002), end="\r"),
        "trailing_comma/users.csv": lines(H2020 + ",", r(41001) + ",", r(41002) + ","),
        "padded_country/users.csv": lines(
            H2020,
            r(42001, country=" France ", countryCode="fr"),
            r(42002, country="France", countryCode="fr"),
        ),
        "not_data/README.md": b"# Export of 2026-11-30\n\nThe users files of the week.\n",
        "set_aside/_old/users.csv": lines(H2020, r(43001)),
    }


def _generated_cases() -> dict[str, Callable[[], bytes]]:
    """Files that are not sensible in git: built the same way every time."""
    text = lines(H2020, row(19001), row(19002))
    return {
        "very_long_line/users.csv": lambda: lines(
            H2020, row(19001), row(19002, country="X" * (10 << 20), countryCode="")
        ),
        "binary_file/users.csv": lambda: random.Random(20).randbytes(4096),
        "utf16_file/users.csv": lambda: text.decode().replace("190", "260").encode("utf-16"),
        "gzip_renamed_csv/users.csv": lambda: gzip.compress(text.replace(b"190", b"270"), mtime=0),
        "too_many_fields/users.csv": lambda: lines(H2020, row(29001), row(29002) + "," * 30000),
        "compressed/users.csv.gz": lambda: gzip.compress(lines(H2020, row(44001), row(44002)), 0),
        # Not in git: a ':' in a file name cannot be checked out on Windows.
        "colon_in_name/users 12:00.csv": lambda: lines(H2020, row(45001)),
        "hidden_name/_users.csv": lambda: lines(H2020, row(46001)),
    }


COMMITTED = _text_cases()
GENERATED = _generated_cases()


def write_committed(root: Path = FILES) -> None:
    for name, content in COMMITTED.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)


def write_generated(root: Path) -> None:
    for name, build in GENERATED.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(build())


if __name__ == "__main__":
    write_committed(Path(sys.argv[1]) if len(sys.argv) > 1 else FILES)
