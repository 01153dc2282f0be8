"""The floor: parties, the waiting list, and the table actors behind them.

Every change to the floor comes through this actor (staff routes, and later robots
and cameras). It commands the table actors (ask) and never the other way round, keeps
a view of every table's last committed state, and seats waiting parties whenever a
table becomes free: when one is created, cleaned, released to available, or grows.
A `FloorTick` each second reports, once per party, a party that has waited or sat far
longer than is plausible (thresholds in the settings), so no table is held unseen.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from robodine_edge.actors.base import ActorFuture, CrashListener, TypedProxy, proxy_method
from robodine_edge.actors.dining.table import TableProxy
from robodine_edge.actors.directory import Directory
from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.list_pages import ListViews, PageKey, ViewOwner
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.actors.supervisor import ActorSlot, ChildSpec, SupervisorProxy
from robodine_edge.clock import to_unix
from robodine_edge.data import tables as data
from robodine_edge.data.events import raised_for
from robodine_edge.data.settings import StoreSettings, load_settings
from robodine_edge.data.tables import PartyState, TableState
from robodine_edge.domain.lifecycle import PartyStatus, TableStatus
from robodine_edge.domain.seating import TableFit, WaitingParty, assign, estimate_waits
from robodine_edge.errors import Conflict, InvalidTransition, NotFound, RobodineError
from robodine_edge.types import EventLevel, Publish

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")
ASK_TIMEOUT_S = 10.0
WAITING_LONG = "party_waiting_long"
OVERSTAYED = "party_overstayed"


@dataclass(frozen=True, slots=True)
class FloorTick:
    """Told every second by the service's ticker: time to look for overdue parties."""


class TableDirectory(Directory[int, TableProxy]):
    """The table actors' slots by table id."""

    def __init__(self) -> None:
        super().__init__("table")


def table_actor_name(table_id: int) -> str:
    return f"table-{table_id}"


class FloorActor(ViewOwner):
    """All methods run in the floor's own thread."""

    READS = frozenset({"list_tables", "tables_body", "get_table", "waiting_info", "open_parties"})

    def __init__(
        self,
        writer: Writer,
        supervisor: ActorSlot[SupervisorProxy],
        directory: TableDirectory,
        table_spec: Callable[[int], ChildSpec[TableProxy]],
        publish: Publish,
        on_table: Callable[[int, dict[str, Any] | None], None] = lambda table_id, table: None,
        *,
        crash_listener: CrashListener | None = None,
        clock: Callable[[], float] = time.time,
        views: ListViews | None = None,
    ) -> None:
        super().__init__(views, crash_listener=crash_listener)
        self._on_table = on_table
        self._writer = writer
        self._supervisor = supervisor
        self._directory = directory
        self._table_spec = table_spec
        self._publish = publish
        self._clock = clock
        self._settings = StoreSettings()
        self._parties: dict[int, PartyState] = {}
        self._view: dict[int, TableState] = {}
        self._journal = Journal(writer, publish)
        self._reported: set[tuple[str, int]] = set()
        """(event type, party id) already reported, so each is raised once per party."""

    def on_start(self) -> None:
        self._settings = self._write(load_settings)
        self._parties = {party.id: party for party in self._write(data.load_open_parties)}
        self._reported = self._write(raised_for, (WAITING_LONG, OVERSTAYED), "customer", list(self._parties))
        for table_id, slot in sorted(self._directory.items()):
            self._view[table_id] = slot.proxy.snapshot().get(timeout=ASK_TIMEOUT_S)
        self._seat_waiting()

    # -- tables -----------------------------------------------------------------------

    def list_tables(self) -> list[dict[str, Any]]:
        """Every table in id order (the `tables` WebSocket snapshot)."""
        return [self._view[table_id].json() for table_id in sorted(self._view)]

    def tables_body(self, page: PageKey[None]) -> bytes:
        """A page of `list_tables`, newest first; the list stays in `views` until the next change."""
        return self.views.build(page, self.list_tables)

    def get_table(self, table_id: int) -> dict[str, Any]:
        return self._table(table_id).json()

    def create_table(self, fields: dict[str, Any]) -> dict[str, Any]:
        state: TableState = self._write(data.create_table, fields)
        slot = self._supervisor.proxy.start_child(self._table_spec(state.id)).get(timeout=ASK_TIMEOUT_S)
        self._directory.add(state.id, slot)
        self._set(state)
        self._publish("tables", "upsert", state.json())
        self._seat_waiting()
        return self._view[state.id].json()

    def update_table(self, table_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        table = self._table(table_id)
        if "seats" in changes:
            self._check_seats_fit_party(table, changes["seats"])
        self._set(self._ask(self._table_actor(table_id).update(changes)))
        self._seat_waiting()
        return self._view[table_id].json()

    def delete_table(self, table_id: int) -> list[tuple[str, float]]:
        """Returns the sessions of the table's kiosk users, which are deleted with it."""
        self._table(table_id)
        revoked: list[tuple[str, float]] = self._write(data.delete_table, table_id)
        self._supervisor.proxy.stop_child(table_actor_name(table_id)).get(timeout=ASK_TIMEOUT_S)
        self._directory.remove(table_id)
        del self._view[table_id]
        self._on_table(table_id, None)
        self._publish("tables", "delete", {"id": table_id})
        return revoked

    def seat(self, table_id: int, party_id: int) -> dict[str, Any]:
        """Staff seat a waiting party by hand."""
        table = self._table(table_id)
        party = self._waiting_party(party_id)
        if table.seats < party.party_size:
            raise Conflict(f"table {table.name} seats {table.seats}; the party is {party.party_size}")
        self._seat(table_id, party_id)
        self._publish_waiting()
        return self._view[table_id].json()

    def release(self, table_id: int) -> dict[str, Any]:
        self._table(table_id)
        table, party = self._ask(self._table_actor(table_id).release())
        self._set(table)
        if party is not None:
            self._forget(party.id)
            self._publish("customers", "upsert", data.party_json(party, None, None))
        return table.json()

    def cleaned(self, table_id: int) -> dict[str, Any]:
        self._table(table_id)
        self._set(self._ask(self._table_actor(table_id).cleaned()))
        self._seat_waiting()
        return self._view[table_id].json()

    def set_status(self, table_id: int, status: TableStatus) -> dict[str, Any]:
        self._table(table_id)
        self._set(self._ask(self._table_actor(table_id).set_status(status)))
        self._seat_waiting()
        return self._view[table_id].json()

    def presence(self, table_id: int, present: bool, reliability: float | None) -> dict[str, Any]:
        self._table(table_id)
        self._set(self._ask(self._table_actor(table_id).presence(present, reliability)))
        return self._view[table_id].json()

    # -- parties ----------------------------------------------------------------------

    def add_party(self, party_size: int, name: str | None) -> dict[str, Any]:
        """A party arrives: seated at once if a free table fits, else `waiting`. A party
        bigger than every table (or with no table yet) waits too, with no estimate, and is
        seated when a table that fits is created or grows (docs/API.md): refusing it would
        turn away guests the staff can still make room for. The route bounds the size."""
        party: PartyState = self._write(data.create_party, party_size, name)
        self._parties[party.id] = party
        self._publish("customers", "upsert", self._party_json(party))
        self._seat_waiting()
        return self._party_json(self._parties.get(party.id, party))

    def party_leaves(self, party_id: int) -> dict[str, Any]:
        party = self._open_party(party_id)
        if party.status is PartyStatus.SEATED and party.table_id is not None:
            self.release(party.table_id)
            left = self._write(data.load_party, party_id)
        else:
            left = self._write(data.party_leaves, party_id)
            self._forget(party_id)
            self._publish("customers", "upsert", data.party_json(left, None, None))
            self._publish_waiting()
        return data.party_json(left, None, None)

    def waiting_info(self) -> dict[int, tuple[int, float | None]]:
        """{party id: (1-based position, estimated wait in seconds)} for waiting parties."""
        waiting = self._waiting()
        fits = [self._fit(table) for table in self._view.values()]
        estimates = estimate_waits(
            [WaitingParty(p.id, p.party_size) for p in waiting],
            fits,
            self._clock(),
            self._settings.average_dining_s,
            self._settings.cleaning_s,
        )
        return {party.id: (index + 1, estimates[party.id]) for index, party in enumerate(waiting)}

    def open_parties(self) -> list[dict[str, Any]]:
        return [self._party_json(party) for party in sorted(self._parties.values(), key=lambda p: p.id)]

    def settings_changed(self, settings: StoreSettings) -> None:
        """Told by the settings route after a change is committed."""
        self._settings = settings
        self._publish_waiting()

    def on_reachable(self) -> None:
        """Restarted, and now in the floor's slot: a settings change committed after
        `on_start` read them and told while this instance was not yet reachable went to the
        dead instance. The settings are read again (the tables are the table actors', and
        the floor's changes are its own: nothing else is told to it)."""
        self.settings_changed(self._write(load_settings))

    def on_receive(self, message: object) -> object:
        if isinstance(message, FloorTick):
            self._report_overdue()
            return None
        return super().on_receive(message)

    def _only_reads(self, message: Any) -> bool:
        """A tick changes no table or party (it only writes events): the views stay."""
        return isinstance(message, FloorTick) or super()._only_reads(message)

    # -- internals --------------------------------------------------------------------

    def _report_overdue(self) -> None:
        """A party waiting past `party_waiting_long_s`, or seated past `party_overstay_s`,
        is an event and a staff notification, once per party: a guest forgotten on the
        list, or a table held by a party long gone (a lost leave, a simulator that died),
        is something staff must see rather than a table silently held. Recorded without
        waiting: a failed write is logged by the journal and not retried."""
        now = self._clock()
        for party in self._parties.values():
            overdue = self._overdue(party, now)
            if overdue is None or (overdue[0], party.id) in self._reported:
                continue
            kind, message = overdue
            self._reported.add((kind, party.id))
            self._journal.record(
                kind,
                message,
                level=EventLevel.WARNING,
                entity_type="customer",
                entity_id=party.id,
                data={"table_id": party.table_id, "party_size": party.party_size},
            )

    def _overdue(self, party: PartyState, now: float) -> tuple[str, str] | None:
        """(event type, message) if `party` is past its threshold (none when it is 0: off)."""
        if party.status is PartyStatus.WAITING:
            kind, limit, since = WAITING_LONG, self._settings.party_waiting_long_s, party.created_at
        elif party.status is PartyStatus.SEATED and party.seated_at is not None:
            kind, limit, since = OVERSTAYED, self._settings.party_overstay_s, party.seated_at
        else:
            return None
        elapsed = now - to_unix(since)
        if not limit or elapsed < limit:
            return None
        who = f"{party.name or f'customer {party.id}'} (party of {party.party_size})"
        if kind == WAITING_LONG:
            return kind, f"{who} has waited {_duration(elapsed)} for a table"
        table = self._view.get(party.table_id) if party.table_id is not None else None
        return kind, f"{who} has sat at {f'table {table.name}' if table else 'its table'} for {_duration(elapsed)}"

    def _seat_waiting(self) -> None:
        waiting = [WaitingParty(p.id, p.party_size) for p in self._waiting()]
        pairs = assign(waiting, [self._fit(table) for table in self._view.values()])
        for party_id, table_id in pairs:
            try:
                self._seat(table_id, party_id)
            except RobodineError as exc:
                log.warning("could not seat customer %d at table %d: %s", party_id, table_id, exc)
        if pairs:
            self._publish_waiting()

    def _seat(self, table_id: int, party_id: int) -> None:
        table, party = self._ask(self._table_actor(table_id).seat(party_id))
        self._set(table)
        self._parties[party_id] = party
        self._publish("customers", "upsert", data.party_json(party, None, None))

    def _forget(self, party_id: int) -> None:
        """A party that left is no longer watched."""
        self._parties.pop(party_id, None)
        self._reported.discard((WAITING_LONG, party_id))
        self._reported.discard((OVERSTAYED, party_id))

    def _publish_waiting(self) -> None:
        info = self.waiting_info()
        for party_id, (position, estimate) in info.items():
            self._publish("customers", "upsert", data.party_json(self._parties[party_id], position, estimate))

    def _party_json(self, party: PartyState) -> dict[str, Any]:
        position, estimate = self.waiting_info().get(party.id, (None, None))
        return data.party_json(party, position, estimate)

    def _waiting(self) -> list[PartyState]:
        return sorted((p for p in self._parties.values() if p.status is PartyStatus.WAITING), key=lambda p: p.id)

    def _open_party(self, party_id: int) -> PartyState:
        """A waiting or seated party; `NotFound` if it never existed, `InvalidTransition`
        if it has left (only then is SQLite asked, through the store)."""
        party = self._parties.get(party_id)
        if party is None:
            self._write(data.load_party, party_id)  # NotFound if it never existed
            raise InvalidTransition(f"customer {party_id} has left")
        return party

    def _waiting_party(self, party_id: int) -> PartyState:
        party = self._open_party(party_id)
        if party.status is not PartyStatus.WAITING:
            raise InvalidTransition(f"customer {party_id} is already seated")
        return party

    def _set(self, table: TableState) -> None:
        """Keep a table's committed state and tell the dispatcher (it cleans tables)."""
        self._view[table.id] = table
        self._on_table(table.id, table.json())

    def _check_seats_fit_party(self, table: TableState, seats: int) -> None:
        """A table cannot shrink under the party sitting at it (`Conflict`)."""
        party = self._parties.get(table.party_id) if table.party_id is not None else None
        if party is not None and seats < party.party_size:
            raise Conflict(
                f"table {table.name} has a party of {party.party_size} seated; it cannot seat {seats} until they leave"
            )

    def _table(self, table_id: int) -> TableState:
        table = self._view.get(table_id)
        if table is None:
            raise NotFound(f"table {table_id} not found")
        return table

    def _fit(self, table: TableState) -> TableFit:
        seated = to_unix(table.seated_at) if table.seated_at is not None else None
        return TableFit(table.id, table.seats, table.status, seated)

    def _table_actor(self, table_id: int) -> TableProxy:
        return self._directory.get(table_id).proxy

    @staticmethod
    def _ask(reply: ActorFuture[T]) -> T:
        return reply.get(timeout=ASK_TIMEOUT_S)

    def _write(self, unit: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return self._writer.write(unit, *args, **kwargs).get(timeout=ASK_TIMEOUT_S)


def _duration(seconds: float) -> str:
    """`3 h 05 min`, `62 min` or `45 s`: how long, for a message staff read."""
    whole = int(seconds)
    if whole >= 3600:
        return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
    return f"{whole // 60} min" if whole >= 60 else f"{whole} s"


class FloorProxy(TypedProxy):
    """The floor as HTTP, the link and the dispatcher reach it (`ActorSlot[FloorProxy]`)."""

    list_tables = proxy_method(FloorActor.list_tables)
    tables_body = proxy_method(FloorActor.tables_body)
    get_table = proxy_method(FloorActor.get_table)
    create_table = proxy_method(FloorActor.create_table)
    update_table = proxy_method(FloorActor.update_table)
    delete_table = proxy_method(FloorActor.delete_table)
    seat = proxy_method(FloorActor.seat)
    release = proxy_method(FloorActor.release)
    cleaned = proxy_method(FloorActor.cleaned)
    set_status = proxy_method(FloorActor.set_status)
    presence = proxy_method(FloorActor.presence)
    add_party = proxy_method(FloorActor.add_party)
    party_leaves = proxy_method(FloorActor.party_leaves)
    waiting_info = proxy_method(FloorActor.waiting_info)
    open_parties = proxy_method(FloorActor.open_parties)
    settings_changed = proxy_method(FloorActor.settings_changed)
