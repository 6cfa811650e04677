"""The SQL that differs between PostgreSQL and SQLite: seconds between two times, the hour an
instant falls in, and percentiles (percentile_cont on PostgreSQL; on SQLite the same linear
interpolation from at most four rows read with ORDER BY … LIMIT/OFFSET)."""

from __future__ import annotations

import datetime as dt
import math

import sqlalchemy as sa

from app.extensions import db


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def in_database_percentiles() -> bool:
    """PostgreSQL computes percentiles as aggregates (`percentile_aggregates`) beside the others."""
    return _dialect() == "postgresql"


def percentile_aggregates(expression, fractions: tuple[float, ...] = (0.5, 0.9)) -> list:
    """PostgreSQL's percentile_cont of `expression` for each fraction, to SELECT with other
    aggregates in one pass (rows where it is NULL are left out, as by `percentiles`)."""
    return [sa.func.percentile_cont(f).within_group(expression) for f in fractions]


def seconds_between(later, earlier):
    """A SQL expression: the seconds from `earlier` to `later` (two UTC timestamp columns)."""
    if _dialect() == "postgresql":
        return sa.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def utc_hour(column):
    """A SQL expression: the UTC hour an instant falls in (`utc_hour_value` reads it back)."""
    if _dialect() == "postgresql":
        return sa.func.date_trunc("hour", sa.func.timezone("UTC", column))
    return sa.func.strftime("%Y-%m-%d %H:00:00", column)


def utc_hour_value(value) -> dt.datetime:
    """A `utc_hour` result as an aware UTC datetime."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC)


def percentiles(values: sa.Subquery, fractions: tuple[float, ...] = (0.5, 0.9)) -> list[float | None]:
    """Continuous percentiles of the subquery's single column `value` (None when it has no rows).

    Read-only."""
    column = values.c.value
    if in_database_percentiles():
        return floats(db.session.execute(sa.select(*percentile_aggregates(column, fractions))).one())
    count = db.session.scalar(sa.select(sa.func.count()).select_from(values).where(column.is_not(None)))
    return [_interpolated(column, count, f) if count else None for f in fractions]


def floats(values) -> list[float | None]:
    return [None if value is None else float(value) for value in values]


def _interpolated(column, count: int, fraction: float) -> float:
    position = fraction * (count - 1)
    low = math.floor(position)
    rows = db.session.scalars(
        sa.select(column).where(column.is_not(None)).order_by(column).limit(2).offset(low)
    ).all()
    below, above = float(rows[0]), float(rows[-1])
    return below + (above - below) * (position - low)
