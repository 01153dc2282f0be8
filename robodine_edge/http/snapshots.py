"""Where each WebSocket topic's snapshot comes from: the actor (or table) that owns it.

Runs on the event loop; every source is an ask through the bridge or a read-pool query,
but `telemetry`, which the hub holds itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, assert_never

from robodine_edge.data import emergencies, events, robots
from robodine_edge.threads import bridge
from robodine_edge.types import Principal, Role, Topic

if TYPE_CHECKING:
    from robodine_edge.http.context import ApiContext

RECENT = 100


class Snapshots:
    def __init__(self, api: ApiContext) -> None:
        self._api = api

    async def __call__(self, topic: Topic, principal: Principal) -> list[dict[str, Any]]:
        api = self._api
        timeout = api.ask_timeout_s
        if topic == "robots":
            return await bridge.wait(api.fleet.proxy.list_robots(), timeout)
        if topic == "telemetry":
            # The last datagram of each robot with a live link: the telemetry endpoint
            # deletes a robot's when its link goes. Read on the loop, so exactly at the seq.
            latest = api.hub.topics["telemetry"].latest
            return list(latest.values()) if latest is not None else []
        if topic == "tables":
            return await bridge.wait(api.floor.proxy.list_tables(), timeout)
        if topic == "customers":
            return await bridge.wait(api.floor.proxy.open_parties(), timeout)
        if topic == "orders":
            orders = await bridge.wait(api.orders.proxy.active_orders(), timeout)
            if principal.role is Role.KIOSK:
                orders = [o for o in orders if o["table_id"] == principal.table_id]
            return orders
        if topic == "inventory":
            return await bridge.wait(api.orders.proxy.list_inventory(), timeout)
        if topic == "menu":
            return await bridge.wait(api.orders.proxy.list_menu(), timeout)
        if topic == "events":
            return await bridge.wait(api.reads.submit(events.list_events, RECENT, None, None, None, None), timeout)
        if topic == "notifications":
            mine = api.reads.submit(events.list_notifications, principal.user_id, RECENT, None, None)
            return await bridge.wait(mine, timeout)
        if topic == "commands":
            return await bridge.wait(api.reads.submit(robots.recent_commands, RECENT), timeout)
        if topic == "emergencies":
            return await bridge.wait(api.reads.submit(emergencies.active_emergencies), timeout)
        if topic == "video_streams":
            return await bridge.wait(api.cameras.proxy.list_cameras(), timeout)
        assert_never(topic)  # a topic added without a snapshot source is a type error
