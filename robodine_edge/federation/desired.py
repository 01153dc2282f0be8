"""Taking headquarters' desired state: a retained `cfg/<kind>` for this store or for the
whole chain (`all`), applied once per newer version (robodine_edge/data/desired.py).

The menu belongs to the order queue (it prices orders from memory), so a menu cfg is
its ask; settings are written by the store and then told to the floor and the
dispatcher, as `PATCH /api/settings` does. A cfg that is not valid changes nothing and
leaves a `config_rejected` warning event. Event loop only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from robodine_edge.actors.storage.journal import Journal
from robodine_edge.actors.storage.writer import Writer
from robodine_edge.data import desired
from robodine_edge.data.desired import Applied
from robodine_edge.errors import RobodineError, ValidationFailed
from robodine_edge.protocol import mqtt as wire
from robodine_edge.protocol.mqtt import MenuCfg, WireError
from robodine_edge.threads import bridge

if TYPE_CHECKING:
    from robodine_edge.actors.dining.floor import FloorProxy
    from robodine_edge.actors.dining.order_queue import OrderQueueProxy
    from robodine_edge.actors.dispatch.dispatcher import DispatcherProxy
    from robodine_edge.actors.supervisor import ActorSlot

log = logging.getLogger(__name__)


@dataclass
class Actors:
    """The handles the desired state reaches (slots: stable across restarts)."""

    writer: Writer
    journal: Journal
    orders: ActorSlot[OrderQueueProxy]
    floor: ActorSlot[FloorProxy]
    dispatcher: ActorSlot[DispatcherProxy]
    timeout_s: float


class DesiredState:
    def __init__(self, actors: Actors, versions: dict[str, int]) -> None:
        self._actors = actors
        self._versions = dict(versions)
        """Last version taken or refused per `<scope>/<kind>`: what the retained message
        redelivered on every connection is checked against without asking anyone (the
        unit checks again against the database)."""

    async def take(self, scope: str, kind: str, payload: bytes) -> dict[str, Any] | None:
        """The `cfg-ack` body to publish when the cfg was applied, else None."""
        if kind not in wire.CFG_KINDS:
            log.warning("ignored cfg of unknown kind %r (%s)", kind, scope)
            return None
        try:
            version = wire.parse_version(payload)
        except WireError as exc:
            await self._reject(scope, kind, None, str(exc))
            return None
        if version <= self._versions.get(f"{scope}/{kind}", -1):
            return None
        try:
            applied = await self._apply(scope, kind, wire.parse_cfg(kind, payload))
        except (WireError, ValidationFailed) as exc:
            await self._reject(scope, kind, version, _reason(exc))
            return None
        self._versions[f"{scope}/{kind}"] = version
        if applied is None:
            return None
        log.info("applied %s cfg version %d from headquarters (%s)", kind, version, scope)
        return applied.cfg_ack

    async def _apply(self, scope: str, kind: str, cfg: wire.MenuCfg | wire.SettingsCfg) -> Applied | None:
        actors = self._actors
        if isinstance(cfg, MenuCfg):
            return await bridge.wait(actors.orders.proxy.apply_menu_cfg(scope, cfg), actors.timeout_s)
        applied: Applied | None = await bridge.wait(
            actors.writer.write(desired.apply_settings, scope, cfg), actors.timeout_s
        )
        if applied is not None and applied.settings is not None:
            actors.floor.proxy.settings_changed.defer(applied.settings)
            actors.dispatcher.proxy.settings_changed.defer(applied.settings)
            actors.journal.publish([applied.recorded])
        return applied

    async def _reject(self, scope: str, kind: str, version: int | None, reason: str) -> None:
        log.warning("refused %s cfg from headquarters (%s): %s", kind, scope, reason)
        if version is not None:
            self._versions[f"{scope}/{kind}"] = max(version, self._versions.get(f"{scope}/{kind}", -1))
        try:
            recorded = await bridge.wait(
                self._actors.writer.write(desired.reject, scope, kind, version, reason), self._actors.timeout_s
            )
        except RobodineError as exc:
            log.warning("could not record the refused cfg: %s", exc)
            return
        self._actors.journal.publish([recorded])


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationFailed) and exc.fields:
        return "; ".join(f"{key}: {message}" for key, message in exc.fields.items())
    return str(exc)
