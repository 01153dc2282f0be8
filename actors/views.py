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
client paging through cannot fill the views with one body per page.

Threads: the owner's thread builds and drops; the event loop reads. A dict lookup and
the swap of the dict attribute are each atomic under the GIL.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import orjson
from pykka.messages import ProxyCall

from robodine_edge.actors.base import Ping, SupervisedActor

MAX_VIEWS = 16
"""Bodies kept per owner: the unfiltered lists and a few filters (menu categories are
free text, so a client cannot make the owner keep one body per string it sends)."""


@dataclass(frozen=True, slots=True)
class PageKey:
    """One page of a list view: the list (`name` and its `filter`), newest (highest
    `id`) first, at most `limit` rows, only ids below `before` when given."""

    name: str
    filter: Hashable
    limit: int
    before: int | None

    @property
    def list_key(self) -> tuple[str, Hashable]:
        return self.name, self.filter


class EncodedRows:
    """A list's rows, newest first, each encoded once: any page is a slice and a join."""

    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        newest_first = sorted(rows, key=lambda row: row["id"], reverse=True)
        self._ascending_keys = [-row["id"] for row in newest_first]
        self._encoded = [orjson.dumps(row) for row in newest_first]
        self._whole = b"[" + b",".join(self._encoded) + b"]"
        """The usual read (a first page holding every row), joined once."""

    def page(self, limit: int, before: int | None) -> bytes:
        """Any thread: the JSON array of the page (`orjson.dumps` of the same rows)."""
        if before is None and limit >= len(self._encoded):
            return self._whole
        start = 0 if before is None else bisect_right(self._ascending_keys, -before)
        return b"[" + b",".join(self._encoded[start : start + limit]) + b"]"


class ListViews:
    """One owner's encoded bodies by key: a list name and its filter, or a `PageKey`
    (served from the whole list, kept once under its `list_key`)."""

    def __init__(self) -> None:
        self._bodies: dict[Hashable, bytes | EncodedRows] = {}

    def get(self, key: Hashable) -> bytes | None:
        """Any thread (the event loop): the body, or None if it must be asked for."""
        if isinstance(key, PageKey):
            rows = self._bodies.get(key.list_key)
            return rows.page(key.limit, key.before) if isinstance(rows, EncodedRows) else None
        body = self._bodies.get(key)
        return body if isinstance(body, bytes) else None

    def build(self, key: Hashable, make: Callable[[], Any]) -> bytes:
        """Owner's thread: encode `make()` and keep it until the next change. For a
        `PageKey`, `make()` is the whole list (any order) and the page is answered."""
        if isinstance(key, PageKey):
            rows = EncodedRows(make())
            self._keep(key.list_key, rows)
            return rows.page(key.limit, key.before)
        body = orjson.dumps(make())
        self._keep(key, body)
        return body

    def _keep(self, key: Hashable, view: bytes | EncodedRows) -> None:
        if len(self._bodies) < MAX_VIEWS:
            self._bodies[key] = view

    def drop(self) -> None:
        """Owner's thread, before a message that may change what the views show (or the
        supervisor's, building a replacement owner once the old one is dead)."""
        if self._bodies:
            self._bodies = {}


@dataclass(frozen=True)
class ListedViews:
    """The views the event loop serves reads from, one per owner; made by the actor tree."""

    menu: ListViews = field(default_factory=ListViews)
    """The order queue's: pages of `("menu", category)` and `("inventory", None)`."""
    tables: ListViews = field(default_factory=ListViews)
    """The floor's: pages of `("tables", None)`."""
    robots: ListViews = field(default_factory=ListViews)
    """The fleet's: `("robots", kind)`."""


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
