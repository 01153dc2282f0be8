"""The journal: how events (and the notifications they raise) reach the log and the hub.

Not an actor itself: a thread-safe helper any actor (or the loop) uses. An event about
a change is best written by the unit that makes the change (same transaction, see
`data.events.record_event`), then published here once committed; `record` is for
events that stand alone (a crash report, a call for staff).
"""

from __future__ import annotations

import logging
from typing import Any

from robodine_edge.actors.base import ActorFuture
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.data.events import Recorded, record_event
from robodine_edge.types import EventLevel, Publish

log = logging.getLogger(__name__)


class Journal:
    def __init__(self, writer: Writer, publish: Publish) -> None:
        self._writer = writer
        self._publish = publish

    def record(
        self,
        type: str,
        message: str,
        *,
        level: EventLevel = EventLevel.INFO,
        entity_type: str | None = None,
        entity_id: str | int | None = None,
        data: dict[str, Any] | None = None,
    ) -> ActorFuture[Recorded]:
        future = self._writer.write(
            record_event, type, message, level=level, entity_type=entity_type, entity_id=entity_id, data=data
        )
        future.add_done_callback(self._committed)
        return future

    def commit(self, unit: Any, *args: Any) -> ActorFuture[Any]:
        """Hand the store a unit that returns `Recorded` (or a list of them); publish once
        committed. Does not wait."""
        future = self._writer.write(unit, *args)
        future.add_done_callback(self._unit_committed)
        return future

    def _unit_committed(self, future: ActorFuture[Any]) -> None:
        """Runs on the writer's thread."""
        try:
            result = future.get(timeout=0)
        except Exception as exc:
            log.error("could not record an event: %s", exc)
            return
        self.publish(result if isinstance(result, list) else [result])

    def publish(self, recorded: list[Recorded]) -> None:
        """Publish events a unit recorded in its own transaction, once it committed."""
        for item in recorded:
            self._publish("events", "upsert", item.event)
            for user_id, note in item.notifications:
                self._publish("notifications", "upsert", {**note, "user_id": user_id})

    def _committed(self, future: ActorFuture[Recorded]) -> None:
        """Runs on the writer's thread once the event is committed (or failed)."""
        try:
            recorded = future.get(timeout=0)
        except Exception as exc:
            log.error("could not record an event: %s", exc)
            return
        self.publish([recorded])
