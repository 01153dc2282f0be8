"""Row helpers every data module shares: find one or 404, save a named row or 409."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from peewee import IntegrityError, Model

from robodine_edge.clock import utcnow
from robodine_edge.errors import Conflict, NotFound

M = TypeVar("M", bound=Model)


def one(model: type[M], row_id: int, what: str) -> M:
    """The row with this id, or `NotFound` ("table 7 not found")."""
    row = model.get_or_none(model._meta.primary_key == row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} not found")
    return row


def create_named(model: type[M], fields: Mapping[str, Any], what: str) -> M:
    """Insert a row with a unique `name`; a taken name is `Conflict`."""
    now = utcnow()
    try:
        return model.create(**fields, created_at=now, updated_at=now)
    except IntegrityError:
        raise Conflict(f"a {what} named {fields.get('name')!r} exists") from None


def save_changes(row: Model, changes: Mapping[str, Any], what: str) -> None:
    """Apply `changes`, stamp `updated_at` and save; a taken unique name is `Conflict`."""
    for key, value in changes.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    try:
        row.save()
    except IntegrityError:
        raise Conflict(f"a {what} named {getattr(row, 'name', '')!r} exists") from None


def newest_first(query: Any, model: type[Model], limit: int, before: int | None) -> Any:
    """The API's list paging: newest first, `limit` rows, ids below `before` when given."""
    query = query.order_by(model._meta.primary_key.desc()).limit(limit)
    return query.where(model._meta.primary_key < before) if before is not None else query
