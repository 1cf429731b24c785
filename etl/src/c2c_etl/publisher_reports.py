"""The publisher's three reports, computed in plain Python with exact fractions.

The generator writes these next to its users files, so a run on generated data has publisher
reports to reconcile too. It is a second implementation of the definitions that
``gold/reconciliation.py`` computes in Spark (docs/data.md, "Publisher reports"): built
independently, with exact arithmetic, so agreement between the two means something.
Memory stays flat: users are folded into per-group sums one at a time.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from c2c_etl.sources import REPORT_BUYERS, REPORT_SELLERS, REPORT_TOP_SELLERS, SourceKind

TOP_BOUGHT, TOP_SOLD = 10, 20
Number = int | Fraction | float | None


def _is_true(value: object) -> bool:
    return value is True or str(value).strip().lower() == "true"


class _Group:
    """Running sums over one group of users (and over its 'top' members)."""

    def __init__(self) -> None:
        self.n: dict[str, int] = defaultdict(int)
        self.total: dict[str, int] = defaultdict(int)

    def add(self, user: Mapping[str, object], top: bool) -> None:
        self.n["all"] += 1
        self.n["top"] += top
        female = user["gender"] == "F"
        self.n["female"] += female
        self.n["male"] += user["gender"] == "M"
        self.n["top_female"] += top and female
        self.n["top_male"] += top and user["gender"] == "M"
        self.n["app"] += _is_true(user["hasAnyApp"])
        self.n["ios"] += _is_true(user["hasIosApp"])
        for key in (
            "productsBought",
            "productsWished",
            "socialProductsLiked",
            "productsSold",
            "productsListed",
            "socialNbFollowers",
            "socialNbFollows",
            "seniority",
        ):
            value = int(user[key])  # type: ignore[call-overload]
            self.total[key] += value
            if top:
                self.total["top_" + key] += value
        self.total["passrate_x10"] += round(float(user["productsPassRate"]) * 10)  # type: ignore[arg-type]
        if user["daysSinceLastLogin"] is not None:
            days = int(user["daysSinceLastLogin"])  # type: ignore[call-overload]
            self.n["days"] += 1
            self.total["days"] += days
            if top:
                self.n["top_days"] += 1
                self.total["top_days"] += days

    def ratio(self, num: str, den: str, scale: int = 1) -> Fraction | None:
        a, b = self._value(num), self._value(den)
        return None if b == 0 else Fraction(scale * a, b)

    def _value(self, key: str) -> int:
        return self.n[key] if key in self.n else self.total[key]


def _half_up(value: Fraction | None, decimals: int) -> float | None:
    if value is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return float(exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def _floor24(value: Fraction | None) -> str | None:
    if value is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        text = format(exact.quantize(Decimal(1).scaleb(-24), rounding=ROUND_FLOOR), "f")
    text = text.rstrip("0")
    return text + "0" if text.endswith(".") else text


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _buyers_row(g: _Group) -> list[object]:
    r, h = g.ratio, _half_up
    return [
        g.n["all"],
        g.n["top"],
        h(r("top", "all", 100), 1),
        g.n["female"],
        g.n["male"],
        g.n["top_female"],
        g.n["top_male"],
        h(r("female", "all", 100), 1),
        h(r("top_female", "top", 100), 1),
        h(r("productsBought", "productsWished", 100), 2),
        h(r("productsBought", "socialProductsLiked", 100), 2),
        h(r("top_productsBought", "top_productsWished", 100), 2),
        h(r("top_productsBought", "top_socialProductsLiked", 100), 2),
        g.total["productsBought"],
        g.total["productsWished"],
        g.total["socialProductsLiked"],
        g.total["top_productsBought"],
        g.total["top_productsWished"],
        g.total["top_socialProductsLiked"],
        h(r("productsBought", "all"), 1),
        h(r("productsWished", "all"), 1),
        h(r("socialProductsLiked", "all"), 1),
        h(r("top_productsBought", "top"), 1),
        h(r("top_productsWished", "top"), 1),
        h(r("top_socialProductsLiked", "top"), 1),
        *_activity(g),
    ]


def _activity(g: _Group) -> list[object]:
    r, h = g.ratio, _half_up
    return [
        h(_mean(g, "days"), 1),
        h(_mean(g, "top_days"), 1),
        h(r("socialNbFollowers", "all"), 1),
        h(r("socialNbFollows", "all"), 1),
        h(r("top_socialNbFollowers", "top"), 1),
        h(r("top_socialNbFollows", "top"), 1),
    ]


def _mean(g: _Group, key: str) -> Fraction | None:
    return None if g.n[key] == 0 else Fraction(g.total[key], g.n[key])


def _sellers_row(g: _Group) -> list[object]:
    r, h = g.ratio, _half_up
    app = None if g.n["app"] == 0 else float(math.floor(Fraction(100 * g.n["app"], g.n["all"])))
    ios = None if g.n["ios"] == 0 else float(math.floor(Fraction(100 * g.n["ios"], g.n["all"])))
    return [
        g.n["all"],
        h(r("productsSold", "all"), 2),
        h(r("productsListed", "all"), 2),
        h(Fraction(g.total["passrate_x10"], 10 * g.n["all"]), 2),
        g.total["productsSold"],
        g.total["productsListed"],
        h(r("productsBought", "all"), 2),
        h(r("productsWished", "all"), 2),
        h(r("socialProductsLiked", "all"), 2),
        g.total["productsBought"],
        g.total["productsWished"],
        g.total["socialProductsLiked"],
        h(r("socialNbFollowers", "all"), 1),
        h(r("socialNbFollows", "all"), 1),
        app,
        ios,
        g.total["seniority"] / g.n["all"],
    ]


def _top_sellers_row(g: _Group) -> list[object]:
    r, h = g.ratio, _half_up
    return [
        g.n["all"],
        g.n["top"],
        h(r("top", "all", 100), 1),
        h(r("female", "all", 100), 1),
        h(r("top_female", "top", 100), 1),
        g.n["female"],
        g.n["male"],
        g.n["top_female"],
        g.n["top_male"],
        h(r("productsSold", "productsListed"), 2),
        h(r("top_productsSold", "top_productsListed"), 2),
        g.total["top_productsSold"],
        g.total["productsSold"],
        g.total["top_productsListed"],
        g.total["productsListed"],
        _floor24(r("top_productsSold", "top")),
        _floor24(r("top_productsListed", "top")),
        _floor24(r("productsSold", "all")),
        _floor24(r("productsListed", "all")),
        *_activity(g),
    ]


class PublisherReports:
    """Folds 2020-schema users in one at a time; ``rows()`` gives the three reports."""

    def __init__(self) -> None:
        self.buyers: dict[str, _Group] = defaultdict(_Group)
        self.sellers: dict[tuple[str, str], _Group] = defaultdict(_Group)
        self.top_sellers: dict[str, _Group] = defaultdict(_Group)

    def add(self, u: Mapping[str, object]) -> None:
        """Count one user (values as text are fine; ``daysSinceLastLogin`` may be None)."""
        bought, sold = int(u["productsBought"]), int(u["productsSold"])  # type: ignore[call-overload]
        listed = int(u["productsListed"])  # type: ignore[call-overload]
        country = str(u["country"])
        if bought > 0:
            self.buyers[country].add(u, bought >= TOP_BOUGHT)
        if sold > 0 or listed > 0:
            sex = {"F": "Female", "M": "Male"}[str(u["gender"])]
            for key in ((country, sex), ("", sex), ("", "")):
                self.sellers[key].add(u, False)
        if sold > 0:
            self.top_sellers[country].add(u, sold >= TOP_SOLD)

    def rows(self) -> dict[SourceKind, list[list[str]]]:
        """Each report's rows as CSV cells (header excluded), in the publisher's order."""
        buyers = sorted(
            self.buyers.items(), key=lambda kv: (-kv[1].n["top"], -kv[1].n["all"], kv[0])
        )
        totals = [k for k in (("", "Female"), ("", "Male"), ("", "")) if k in self.sellers]
        seller_keys = sorted(k for k in self.sellers if k[0]) + totals
        tops = sorted(
            ((c, g) for c, g in self.top_sellers.items() if g.n["top"] > 0),
            key=lambda kv: (-Fraction(kv[1].n["top"], kv[1].n["all"]), kv[0]),
        )
        return {
            REPORT_BUYERS: [[c, *map(_fmt, _buyers_row(g))] for c, g in buyers],
            REPORT_SELLERS: [
                [c, s, *map(_fmt, _sellers_row(self.sellers[(c, s)]))] for c, s in seller_keys
            ],
            REPORT_TOP_SELLERS: [[c, *map(_fmt, _top_sellers_row(g))] for c, g in tops],
        }


def compute_reports(users: Iterable[Mapping[str, object]]) -> dict[SourceKind, list[list[str]]]:
    """The three reports over 2020-schema users."""
    reports = PublisherReports()
    for user in users:
        reports.add(user)
    return reports.rows()
