"""SQL for the hottest writes, built once from the models' own metadata.

peewee builds each query in Python (~150 µs a statement here), which made it, not
SQLite, the limit of order placement. The few statements run for every order are
therefore rendered once at import, from the same models (so table and column names
cannot drift), and executed with fresh parameters. Values go through each field's
`db_value`, so they are stored exactly as peewee would store them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from peewee import Model


def column(model: type[Model], field: str) -> str:
    return f'"{model._meta.fields[field].column_name}"'


def insert_sql(model: type[Model], fields: Sequence[str]) -> str:
    columns = ", ".join(column(model, field) for field in fields)
    marks = ", ".join("?" for _ in fields)
    return f'INSERT INTO "{model._meta.table_name}" ({columns}) VALUES ({marks})'


def params(model: type[Model], fields: Sequence[str], values: Sequence[Any]) -> tuple[Any, ...]:
    """Values as the fields store them (datetimes as text, JSON as text, ...)."""
    return tuple(model._meta.fields[field].db_value(value) for field, value in zip(fields, values, strict=True))
