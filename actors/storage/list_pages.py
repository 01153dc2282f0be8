"""Encoded list views: what `GET /api/menu`, `/api/inventory`, `/api/tables` and
`/api/robots` answer, kept as JSON bytes so the event loop serves them without asking
an actor.

An ask costs two thread hand-offs and the owner rebuilds and the loop re-encodes the
same list for every tablet polling it; `make bench` put those reads at about a quarter
of bare Sanic. With views a read is a dict lookup on the loop, and the owner builds a
body only on the first read after a change.

Freshness rule: the owning actor drops its views before it handles any message that is
not one of its declared reads (`ViewOwner`). Every change an actor makes happens while
handling some message, and pykka answers that message only after the handler returns,
so once a caller has the answer to its change no view from before the change remains:
a tablet that adds a dish and then lists the menu sees the dish. Dropping on every
other message (telemetry-driven robot updates included) is deliberately blunt; it
cannot miss a change path added later.

Paged lists (`PageKey`: newest first, `limit`, `before=<id>`, as every API list) are
kept whole, one row encoded at a time, once per list and filter: any page is then a
slice and a join on the loop (a few microseconds for 100 rows), with no ask, and a
client paging through cannot fill the views with one body per page. A list whose rows
carry no integer `id` (robots, named by `robot_id`) is ordered by a `RowOrder` instead:
its rows' row ids by key, and `before` is then one of those keys.

Threads: the owner's thread builds and drops; the event loop reads. A dict lookup and
the swap of the dict attribute are each atomic under the GIL.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import orjson
from pykka.messages import ProxyCall

from robodine_edge.actors.base import Ping, SupervisedActor
from robodine_edge.errors import ValidationFailed

F = TypeVar("F", bound=Hashable, covariant=True)
RowKey = int | str
MAX_VIEWS = 16
"""Lists kept per owner: the unfiltered lists and a few filters (menu categories are
free text, so a client cannot make the owner keep one list per string it sends)."""


@dataclass(frozen=True, slots=True)
class PageKey(Generic[F]):
    """One page of a list view: the list (`name` and its `filter`, of the type its owner
    expects), newest (highest `id`) first, at most `limit` rows, only ids below `before`
    when given."""

    name: str
    filter: F
    limit: int
    before: RowKey | None
    """A row id; for a list ordered by a `RowOrder`, one of its keys (a robot id)."""

    @property
    def list_key(self) -> tuple[str, Hashable]:
        return self.name, self.filter


@dataclass(frozen=True, slots=True)
class RowOrder:
    """The order of a list whose rows are named by a key, not an integer `id` (robots
    by `robot_id`): `ids` maps every key the owner knows, in or out of this list's
    filter, to its row id. Give the owner's own mapping copied: views are read on the
    event loop while the owner goes on changing."""

    field: str
    ids: Mapping[RowKey, int]


class UnknownCursor(ValidationFailed):
    """`before` names no row of a list ordered by key (a robot id nobody registered, or
    one since removed): 422 rather than an empty page, so a client paging through
    learns that its cursor is gone instead of taking it for the end of the list."""


class EncodedRows:
    """A list's rows, newest first, each encoded once: any page is a slice and a join."""

    def __init__(self, rows: Iterable[dict[str, Any]], order: RowOrder | None = None) -> None:
        def row_id(row: dict[str, Any]) -> int:
            key: RowKey = row["id"] if order is None else order.ids[row[order.field]]
            return int(key)

        newest_first = sorted(rows, key=row_id, reverse=True)
        self._order = order
        self._ascending_keys = [-row_id(row) for row in newest_first]
        self._encoded = [orjson.dumps(row) for row in newest_first]
        self._whole = b"[" + b",".join(self._encoded) + b"]"
        """The usual read (a first page holding every row), joined once."""

    def page(self, limit: int, before: RowKey | None) -> bytes:
        """Any thread: the JSON array of the page (`orjson.dumps` of the same rows).
        Raises `UnknownCursor` for a key `before` that the list's `RowOrder` lacks."""
        if before is None:
            if limit >= len(self._encoded):
                return self._whole
            start = 0
        else:
            start = bisect_right(self._ascending_keys, -self._row_id(before))
        return b"[" + b",".join(self._encoded[start : start + limit]) + b"]"

    def _row_id(self, before: RowKey) -> int:
        if self._order is None:
            return int(before)
        row_id = self._order.ids.get(before)
        if row_id is None:
            field = self._order.field
            raise UnknownCursor(f"no {field} {before!r} to page before", fields={"before": f"unknown {field}"})
        return row_id


class ListViews:
    """One owner's encoded lists, each kept whole under its `PageKey.list_key`: every
    page of a list is served from the one `EncodedRows`."""

    def __init__(self) -> None:
        self._lists: dict[tuple[str, Hashable], EncodedRows] = {}

    def get(self, page: PageKey[Hashable]) -> bytes | None:
        """Any thread (the event loop): the page, or None if it must be asked for.
        A page whose `before` its list's `RowOrder` lacks raises `UnknownCursor`."""
        rows = self._lists.get(page.list_key)
        return rows.page(page.limit, page.before) if rows is not None else None

    def build(
        self, page: PageKey[Hashable], make: Callable[[], Iterable[dict[str, Any]]], order: RowOrder | None = None
    ) -> bytes:
        """Owner's thread: encode the whole list `make()` (any order, sorted by row `id`
        or by `order`), keep it until the next change and answer the page; the list is
        kept even when that page is an `UnknownCursor`, which the next pages need not
        ask for again."""
        rows = EncodedRows(make(), order)
        if len(self._lists) < MAX_VIEWS:
            self._lists[page.list_key] = rows
        return rows.page(page.limit, page.before)

    def drop(self) -> None:
        """Owner's thread, before a message that may change what the views show (or the
        supervisor's, building a replacement owner once the old one is dead)."""
        if self._lists:
            self._lists = {}


@dataclass(frozen=True)
class ListedViews:
    """The views the event loop serves reads from, one per owner; made by the actor tree."""

    menu: ListViews = field(default_factory=ListViews)
    """The order queue's: pages of `("menu", (category, order))` and `("inventory", None)`."""
    tables: ListViews = field(default_factory=ListViews)
    """The floor's: pages of `("tables", None)`."""
    robots: ListViews = field(default_factory=ListViews)
    """The fleet's: pages of `("robots", kind)`, ordered by registration (`RowOrder`)."""


class ViewOwner(SupervisedActor):
    """An actor whose list reads are served from `views` (shared with the event loop).

    `READS` names the proxy methods that change nothing; every other message drops the
    views first. The `ListViews` outlives a restart (the supervisor's factory passes the
    same one to the replacement), and a new instance starts by dropping it: it reloads
    its state from SQLite, which need not match what the crashed one held.
    """

    READS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, views: ListViews | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.views = views if views is not None else ListViews()
        self.views.drop()

    def _handle_receive(self, message: Any) -> Any:
        """pykka's dispatch of every message (its hook below `on_receive`, which proxy
        calls bypass). pykka is pinned below 5; `tests/actors/test_views.py` checks
        both a proxy call and a tell still pass through here."""
        if not self._only_reads(message):
            self.views.drop()
        return super()._handle_receive(message)

    def _only_reads(self, message: Any) -> bool:
        if isinstance(message, ProxyCall):
            return message.attr_path[-1] in self.READS
        return isinstance(message, Ping)
