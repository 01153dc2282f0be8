"""Row helpers every data module shares: find one or 404, save a named row or 409."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast

from peewee import IntegrityError, Model, ModelSelect

from robodine_edge.clock import utcnow
from robodine_edge.errors import Conflict, NotFound

M = TypeVar("M", bound=Model)


def one(model: type[M], row_id: int, what: str) -> M:
    """The row with this id, or `NotFound` ("table 7 not found")."""
    row = model.get_or_none(model._meta.primary_key == row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} not found")
    return row


def tuples(query: ModelSelect[M]) -> Iterable[tuple[Any, ...]]:
    """The query's rows as plain tuples, without a model instance per row (what makes
    reading thousands of rows slow). peewee's stubs say `tuples()` returns the query
    itself, which they iterate as models; it iterates as tuples."""
    return cast("Iterable[tuple[Any, ...]]", query.tuples())


def create_named(model: type[M], fields: Mapping[str, Any], what: str) -> M:
    """Insert a row with a unique `name`; a taken name is `Conflict`."""
    now = utcnow()
    try:
        return model.create(**fields, created_at=now, updated_at=now)
    except IntegrityError:
        raise Conflict(f"a {what} named {fields.get('name')!r} exists") from None


def save_changes(row: Model, changes: Mapping[str, Any], what: str) -> None:
    """Apply `changes`, stamp `updated_at` and save; a taken unique name is `Conflict`."""
    for key, value in {**changes, "updated_at": utcnow()}.items():
        setattr(row, key, value)
    try:
        row.save()
    except IntegrityError:
        raise Conflict(f"a {what} named {getattr(row, 'name', '')!r} exists") from None


def newest_first(query: ModelSelect[M], model: type[M], limit: int, before: int | None) -> ModelSelect[M]:
    """The API's list paging: newest first, `limit` rows, ids below `before` when given."""
    key = model._meta.primary_key
    if key is False:
        raise TypeError(f"{model.__name__} has no primary key to page by")
    query = query.order_by(key.desc()).limit(limit)
    return query.where(key < before) if before is not None else query
