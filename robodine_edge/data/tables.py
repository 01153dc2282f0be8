"""Dining tables and parties in SQLite.

Seating and releasing change a table and a party together, so each is one unit (one
transaction): a restart never finds a party seated at a table that is free.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data.models import DiningTable, Party, Seating, User
from robodine_edge.data.rows import create_named, newest_first, one, save_changes
from robodine_edge.data.sessions import revoke_users_sessions
from robodine_edge.domain.lifecycle import PartyStatus, TableStatus
from robodine_edge.errors import Conflict


@dataclass(frozen=True, slots=True)
class TableState:
    """One table as its actor holds it (replaced, never mutated)."""

    id: int
    name: str
    seats: int
    status: TableStatus
    x: float
    y: float
    width: float
    height: float
    party_id: int | None
    present: bool
    reliability: float | None
    seated_at: datetime | None

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "seats": self.seats,
            "status": self.status.value,
            "x": self.x,
            "y": self.y,
            "width": self.width,
            "height": self.height,
            "party_id": self.party_id,
            "present": self.present,
        }


@dataclass(frozen=True, slots=True)
class PartyState:
    id: int
    party_size: int
    name: str | None
    status: PartyStatus
    table_id: int | None
    created_at: datetime
    seated_at: datetime | None


def _table_state(row: DiningTable) -> TableState:
    seating = (
        Seating.select()
        .where(Seating.table == row.id, Seating.released_at.is_null())
        .order_by(Seating.id.desc())
        .first()
    )
    return TableState(
        id=row.id,
        name=row.name,
        seats=row.seats,
        status=TableStatus(row.status),
        x=row.x,
        y=row.y,
        width=row.width,
        height=row.height,
        party_id=seating.party_id if seating else None,
        present=row.present,
        reliability=row.presence_reliability,
        seated_at=seating.seated_at if seating else None,
    )


def _party_state(row: Party) -> PartyState:
    return PartyState(
        id=row.id,
        party_size=row.party_size,
        name=row.name,
        status=PartyStatus(row.status),
        table_id=row.table_id,
        created_at=row.created_at,
        seated_at=row.seated_at,
    )


# -- readers ---------------------------------------------------------------------------


def load_table(table_id: int) -> TableState:
    return _table_state(one(DiningTable, table_id, "table"))


def load_tables() -> list[TableState]:
    """Every table in id order, as the floor's view holds them."""
    return [_table_state(row) for row in DiningTable.select().order_by(DiningTable.id)]


def table_ids() -> list[int]:
    return [row.id for row in DiningTable.select(DiningTable.id).order_by(DiningTable.id)]


def table_exists(table_id: int) -> bool:
    return DiningTable.select(DiningTable.id).where(DiningTable.id == table_id).exists()


def load_open_parties() -> list[PartyState]:
    """Waiting and seated parties, in arrival order."""
    query = Party.select().where(Party.status != PartyStatus.LEFT.value).order_by(Party.id)
    return [_party_state(row) for row in query]


def load_party(party_id: int) -> PartyState:
    return _party_state(one(Party, party_id, "customer"))


def list_parties(limit: int, before: int | None, status: str | None) -> list[PartyState]:
    query = newest_first(Party.select(), Party, limit, before)
    if status is not None:
        query = query.where(Party.status == status)
    return [_party_state(row) for row in query]


# -- writers (writer thread) ---------------------------------------------------------------


def create_table(fields: dict[str, Any]) -> TableState:
    return _table_state(create_named(DiningTable, {**fields, "status": TableStatus.AVAILABLE.value}, "table"))


def update_table(table_id: int, changes: dict[str, Any]) -> TableState:
    row = one(DiningTable, table_id, "table")
    save_changes(row, changes, "table")
    return _table_state(row)


def delete_table(table_id: int) -> list[tuple[str, float]]:
    """Delete a table that is not in use; its kiosk users go with it. Returns their sessions."""
    row = one(DiningTable, table_id, "table")
    if row.status in (TableStatus.OCCUPIED.value, TableStatus.CLEANING.value):
        raise Conflict(f"table {row.name} is {row.status}; release and clean it first")
    if row.orders.count():
        raise Conflict(f"table {row.name} has orders; it can be renamed but not deleted")
    kiosk_users = [user.id for user in User.select(User.id).where(User.table == table_id)]
    revoked = revoke_users_sessions(kiosk_users)
    row.delete_instance(recursive=False)
    return revoked


def seat_party(table_id: int, party_id: int) -> tuple[TableState, PartyState]:
    now = utcnow()
    table, party = one(DiningTable, table_id, "table"), one(Party, party_id, "customer")
    table.status, table.updated_at = TableStatus.OCCUPIED.value, now
    table.save()
    party.status, party.table_id, party.seated_at = PartyStatus.SEATED.value, table_id, now
    party.save()
    Seating.create(party=party_id, table=table_id, seated_at=now)
    return _table_state(table), _party_state(party)


def release_table(table_id: int) -> tuple[TableState, PartyState | None]:
    """The party leaves: the table needs cleaning."""
    now = utcnow()
    table = one(DiningTable, table_id, "table")
    seating = Seating.select().where(Seating.table == table_id, Seating.released_at.is_null()).first()
    party = None
    if seating is not None:
        Seating.update(released_at=now).where(Seating.id == seating.id).execute()
        Party.update(status=PartyStatus.LEFT.value, left_at=now).where(Party.id == seating.party_id).execute()
        party = _party_state(Party.get_by_id(seating.party_id))
    table.status, table.updated_at = TableStatus.CLEANING.value, now
    table.save()
    return _table_state(table), party


def set_table_status(table_id: int, status: TableStatus) -> TableState:
    return update_table(table_id, {"status": status.value})


def set_presence(table_id: int, present: bool, reliability: float | None) -> TableState:
    return update_table(table_id, {"present": present, "presence_reliability": reliability})


def create_party(party_size: int, name: str | None) -> PartyState:
    return _party_state(Party.create(party_size=party_size, name=name, created_at=utcnow()))


def party_leaves(party_id: int) -> PartyState:
    """A waiting party gives up (seated parties leave by releasing their table)."""
    Party.update(status=PartyStatus.LEFT.value, left_at=utcnow()).where(Party.id == party_id).execute()
    return _party_state(Party.get_by_id(party_id))


def party_json(party: PartyState, position: int | None, estimated_wait_s: float | None) -> dict[str, Any]:
    return {
        "id": party.id,
        "party_size": party.party_size,
        "name": party.name,
        "status": party.status.value,
        "table_id": party.table_id,
        "position": position,
        "estimated_wait_s": estimated_wait_s,
        "created_at": to_iso(party.created_at),
    }
