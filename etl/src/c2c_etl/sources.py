"""The kinds of source file the platform accepts, recognised by their header.

A file is identified by its header, not its name: partners rename files, and the two users
releases share a name pattern but not a schema (2024 moves ``countryCode``, drops the app and
login columns and adds ``websiteLongevity``).
"""

from __future__ import annotations

from dataclasses import dataclass

from c2c_etl import tables
from c2c_etl.tables import Table


@dataclass(frozen=True)
class SourceKind:
    name: str
    columns: tuple[str, ...]
    bronze: Table
    release: str | None = None  # which users release a users file is

    @property
    def is_users(self) -> bool:
        return self.release is not None


def _columns(header: str) -> tuple[str, ...]:
    return tuple(header.split(","))


USERS_2020 = SourceKind(
    "users_2020",
    _columns(
        "identifierHash,type,country,language,socialNbFollowers,socialNbFollows,"
        "socialProductsLiked,productsListed,productsSold,productsPassRate,productsWished,"
        "productsBought,gender,civilityGenderId,civilityTitle,hasAnyApp,hasAndroidApp,hasIosApp,"
        "hasProfilePicture,daysSinceLastLogin,seniority,seniorityAsMonths,seniorityAsYears,countryCode"
    ),
    tables.BRONZE_USERS_2020,
    release="2020",
)
USERS_2024 = SourceKind(
    "users_2024",
    _columns(
        "identifierHash,type,countryCode,country,language,socialNbFollowers,socialNbFollows,"
        "socialProductsLiked,productsListed,productsSold,productsPassRate,productsWished,"
        "productsBought,gender,civilityGenderId,civilityTitle,hasProfilePicture,seniority,"
        "seniorityAsMonths,seniorityAsYears,websiteLongevity"
    ),
    tables.BRONZE_USERS_2024,
    release="2024",
)
REPORT_BUYERS = SourceKind(
    "report_buyers_by_country",
    _columns(
        "country,buyers,topbuyers,topbuyerratio,femalebuyers,malebuyers,topfemalebuyers,"
        "topmalebuyers,femalebuyersratio,topfemalebuyersratio,boughtperwishlistratio,"
        "boughtperlikeratio,topboughtperwishlistratio,topboughtperlikeratio,totalproductsbought,"
        "totalproductswished,totalproductsliked,toptotalproductsbought,toptotalproductswished,"
        "toptotalproductsliked,meanproductsbought,meanproductswished,meanproductsliked,"
        "topmeanproductsbought,topmeanproductswished,topmeanproductsliked,meanofflinedays,"
        "topmeanofflinedays,meanfollowers,meanfollowing,topmeanfollowers,topmeanfollowing"
    ),
    tables.BRONZE_REPORT_BUYERS,
)
REPORT_SELLERS = SourceKind(
    "report_sellers_by_gender_country",
    _columns(
        "country,sex,nbsellers,meanproductssold,meanproductslisted,meansellerpassrate,"
        "totalproductssold,totalproductslisted,meanproductsbought,meanproductswished,"
        "meanproductsliked,totalbought,totalwished,totalproductsliked,meanfollowers,meanfollows,"
        "percentofappusers,percentofiosusers,meanseniority"
    ),
    tables.BRONZE_REPORT_SELLERS,
)
REPORT_TOP_SELLERS = SourceKind(
    "report_top_seller_countries",
    _columns(
        "country,sellers,topsellers,topsellerratio,femalesellersratio,topfemalesellersratio,"
        "femalesellers,malesellers,topfemalesellers,topmalesellers,countrysoldratio,bestsoldratio,"
        "toptotalproductssold,totalproductssold,toptotalproductslisted,totalproductslisted,"
        "topmeanproductssold,topmeanproductslisted,meanproductssold,meanproductslisted,"
        "meanofflinedays,topmeanofflinedays,meanfollowers,meanfollowing,topmeanfollowers,"
        "topmeanfollowing"
    ),
    tables.BRONZE_REPORT_TOP_SELLERS,
)

SOURCE_KINDS: tuple[SourceKind, ...] = (
    USERS_2020,
    USERS_2024,
    REPORT_BUYERS,
    REPORT_SELLERS,
    REPORT_TOP_SELLERS,
)
USERS_KINDS = tuple(k for k in SOURCE_KINDS if k.is_users)
REPORT_KINDS = tuple(k for k in SOURCE_KINDS if not k.is_users)


def parse_header(line: str) -> tuple[str, ...]:
    """Column names of a CSV header line (BOM, quotes and surrounding blanks removed)."""
    line = line.lstrip("\ufeff").strip()
    return tuple(c.strip().strip('"').strip() for c in line.split(","))


def detect_kind(header: tuple[str, ...]) -> SourceKind | None:
    """The kind whose columns are exactly these, in any order; None when no kind matches."""
    for kind in SOURCE_KINDS:
        if set(header) == set(kind.columns) and len(header) == len(kind.columns):
            return kind
    return None
