"""Headquarters' desired state (a `cfg` over federation), applied in one unit each.

A cfg carries a version; the store keeps the last version it took from each topic
(the store's own and the chain-wide `all`, counted apart) and takes a cfg only when it
is newer, so the retained message the broker hands over on every connection is applied
once. Taking it — the change, the `config_applied` event, the version and the
`cfg-ack` owed — is one transaction: a crash leaves either all of it or none.

Writer thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from robodine_edge.clock import to_iso, utcnow
from robodine_edge.data.events import Recorded, record_event
from robodine_edge.data.federation import cfg_ack_key, remember, version_key
from robodine_edge.data.kitchen import MenuEntry, menu_entry
from robodine_edge.data.models import FederationState, MenuItem
from robodine_edge.data.settings import StoreSettings, update_settings
from robodine_edge.protocol.mqtt import MenuCfg, SettingsCfg
from robodine_edge.types import EventLevel

SCOPE_WORDS = {"store": "for this store", "all": "chain-wide"}


@dataclass(frozen=True, slots=True)
class Applied:
    """A cfg taken: the `cfg-ack` to publish and what changed."""

    kind: str
    cfg_ack: dict[str, Any]
    recorded: Recorded
    menu: tuple[MenuEntry, ...] = ()
    settings: StoreSettings | None = None


def last_version(scope: str, kind: str) -> int:
    row = FederationState.get_or_none(FederationState.key == version_key(scope, kind))
    return -1 if row is None else int(row.value)


def is_newer(scope: str, kind: str, version: int) -> bool:
    return version > last_version(scope, kind)


def apply_menu(scope: str, cfg: MenuCfg) -> Applied | None:
    """Prices and availability of the dishes named (case-insensitive); None when the
    version is not newer than the last taken from this topic."""
    if not is_newer(scope, "menu", cfg.version):
        return None
    by_name: dict[str, list[MenuItem]] = {}
    for row in MenuItem.select():
        by_name.setdefault(row.name.casefold(), []).append(row)
    unknown: list[str] = []
    changed: list[MenuEntry] = []
    now = utcnow()
    for line in cfg.items:
        rows = by_name.get(line.name.casefold())
        if not rows:
            unknown.append(line.name)
            continue
        for row in rows:
            if line.price_cents is not None:
                row.price_cents = line.price_cents
            if line.available is not None:
                row.available = line.available
            row.updated_at = now
            row.save()
            changed.append(menu_entry(row))
    detail = f"{len(changed)} dishes changed" + (f"; not on this menu: {', '.join(unknown)}" if unknown else "")
    recorded, ack = _taken(scope, "menu", cfg.version, unknown, detail)
    return Applied("menu", ack, recorded, menu=tuple(changed))


def apply_settings(scope: str, cfg: SettingsCfg) -> Applied | None:
    """A PATCH of the settings (names this store does not know are reported in
    `unknown`, the rest must leave the settings valid as a whole, or nothing changes)."""
    if not is_newer(scope, "settings", cfg.version):
        return None
    known = {key: value for key, value in cfg.changes.items() if key in StoreSettings.model_fields}
    unknown = sorted(key for key in cfg.changes if key not in StoreSettings.model_fields)
    updated = update_settings(known)
    detail = f"changed {', '.join(sorted(known)) or 'nothing'}" + (
        f"; unknown here: {', '.join(unknown)}" if unknown else ""
    )
    recorded, ack = _taken(scope, "settings", cfg.version, unknown, detail)
    return Applied("settings", ack, recorded, settings=StoreSettings.model_validate(updated))


def reject(scope: str, kind: str, version: int | None, reason: str) -> Recorded:
    """A cfg that cannot be taken changes nothing but a warning event; its version (if
    it had one) counts as seen, so the retained message is not refused again on every
    connection."""
    if version is not None and is_newer(scope, kind, version):
        remember(version_key(scope, kind), version)
    label = f"version {version}" if version is not None else "without a version"
    return record_event(
        "config_rejected",
        f"{kind} {label} from headquarters ({SCOPE_WORDS.get(scope, scope)}) not applied: {reason}",
        level=EventLevel.WARNING,
        entity_type="config",
        entity_id=kind,
        data={"kind": kind, "scope": scope, "version": version, "reason": reason},
    )


def _taken(scope: str, kind: str, version: int, unknown: list[str], detail: str) -> tuple[Recorded, dict[str, Any]]:
    ack = {"version": version, "applied_at": to_iso(utcnow()), "unknown": unknown}
    remember(version_key(scope, kind), version)
    remember(cfg_ack_key(kind), ack)
    recorded = record_event(
        "config_applied",
        f"{kind} version {version} from headquarters ({SCOPE_WORDS.get(scope, scope)}) applied: {detail}",
        entity_type="config",
        entity_id=kind,
        data={"kind": kind, "scope": scope, "version": version, "unknown": unknown},
    )
    return recorded, ack
