"""One actor per dining table: its status, seated party and presence.

Commands arrive from the floor actor (`actors.dining.floor`), which keeps the waiting list;
a table never asks anyone but the store, so the floor may wait on it safely. Every
change is committed before the actor's state moves, and a restarted table reloads
from SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from robodine_edge.actors.base import CrashListener, SupervisedActor, TypedProxy, proxy_method
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.data import tables as data
from robodine_edge.data.tables import PartyState, TableState
from robodine_edge.domain.lifecycle import SEATABLE, TableStatus, check_table_transition
from robodine_edge.errors import InvalidTransition
from robodine_edge.types import Publish

P = ParamSpec("P")
T = TypeVar("T")

WRITE_TIMEOUT_S = 10.0


class TableActor(SupervisedActor):
    """All methods run in this table's own thread."""

    def __init__(
        self, table_id: int, writer: Writer, publish: Publish, *, crash_listener: CrashListener | None = None
    ) -> None:
        super().__init__(crash_listener=crash_listener)
        self._id = table_id
        self._writer = writer
        self._publish = publish
        self.state: TableState | None = None

    def on_start(self) -> None:
        self.state = self._write(data.load_table, self._id)

    def snapshot(self) -> TableState:
        assert self.state is not None
        return self.state

    def seat(self, party_id: int) -> tuple[TableState, PartyState]:
        state = self.snapshot()
        if state.status not in SEATABLE:
            raise InvalidTransition(f"table {state.name} is {state.status.value}; a party can only sit at a free table")
        table, party = self._write(data.seat_party, self._id, party_id)
        self._changed(table)
        return table, party

    def release(self) -> tuple[TableState, PartyState | None]:
        state = self.snapshot()
        if state.status is not TableStatus.OCCUPIED:
            raise InvalidTransition(f"table {state.name} is {state.status.value}; only an occupied table is released")
        table, party = self._write(data.release_table, self._id)
        self._changed(table)
        return table, party

    def cleaned(self) -> TableState:
        state = self.snapshot()
        if state.status is not TableStatus.CLEANING:
            raise InvalidTransition(
                f"table {state.name} is {state.status.value}; only a table being cleaned is cleaned"
            )
        return self._changed(self._write(data.set_table_status, self._id, TableStatus.AVAILABLE))

    def set_status(self, status: TableStatus) -> TableState:
        check_table_transition(self.snapshot().status, status)
        return self._changed(self._write(data.set_table_status, self._id, status))

    def update(self, changes: dict[str, Any]) -> TableState:
        return self._changed(self._write(data.update_table, self._id, changes))

    def presence(self, present: bool, reliability: float | None) -> TableState:
        state = self.snapshot()
        if state.present == present and state.reliability == reliability:
            return state
        return self._changed(self._write(data.set_presence, self._id, present, reliability))

    def _changed(self, state: TableState) -> TableState:
        self.state = state
        self._publish("tables", "upsert", state.json())
        return state

    def _write(self, unit: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return self._writer.write(unit, *args, **kwargs).get(timeout=WRITE_TIMEOUT_S)


class TableProxy(TypedProxy):
    """A table actor as the floor reaches it (`ActorSlot[TableProxy]`)."""

    snapshot = proxy_method(TableActor.snapshot)
    seat = proxy_method(TableActor.seat)
    release = proxy_method(TableActor.release)
    cleaned = proxy_method(TableActor.cleaned)
    set_status = proxy_method(TableActor.set_status)
    update = proxy_method(TableActor.update)
    presence = proxy_method(TableActor.presence)
