"""Each actor's typed proxy lists every method others may call on it: a method added to an
actor without its `proxy_method` would be invisible to the type checker at its callers
(they would not type-check), and one renamed would fail at import."""

from __future__ import annotations

import inspect

import pytest

from robodine_edge.actors.base import SupervisedActor, TypedProxy
from robodine_edge.actors.cameras.camera import CameraActor, CameraProxy
from robodine_edge.actors.cameras.registry import CamerasActor, CamerasProxy
from robodine_edge.actors.dining.floor import FloorActor, FloorProxy
from robodine_edge.actors.dining.order_queue import OrderQueueActor, OrderQueueProxy
from robodine_edge.actors.dining.table import TableActor, TableProxy
from robodine_edge.actors.dispatch.dispatcher import DispatcherActor, DispatcherProxy
from robodine_edge.actors.robots.fleet import FleetActor, FleetProxy
from robodine_edge.actors.robots.robot import RobotActor, RobotProxy
from robodine_edge.actors.supervisor import Supervisor, SupervisorProxy

PAIRS: list[tuple[type[SupervisedActor], type[TypedProxy]]] = [
    (CameraActor, CameraProxy),
    (CamerasActor, CamerasProxy),
    (DispatcherActor, DispatcherProxy),
    (FleetActor, FleetProxy),
    (FloorActor, FloorProxy),
    (OrderQueueActor, OrderQueueProxy),
    (RobotActor, RobotProxy),
    (Supervisor, SupervisorProxy),
    (TableActor, TableProxy),
]


def public_methods(actor: type[SupervisedActor]) -> set[str]:
    """What the actor itself defines for others: not pykka's hooks, not its helpers."""
    own = {
        name
        for klass in actor.__mro__
        if issubclass(klass, SupervisedActor) and klass is not SupervisedActor
        for name, member in vars(klass).items()
        if inspect.isfunction(member)
    }
    return {name for name in own if not name.startswith("_") and not name.startswith("on_")}


@pytest.mark.parametrize(("actor", "proxy"), PAIRS, ids=[actor.__name__ for actor, _ in PAIRS])
def test_a_proxy_declares_every_public_method_of_its_actor(
    actor: type[SupervisedActor], proxy: type[TypedProxy]
) -> None:
    declared = {name for name, member in vars(proxy).items() if not name.startswith("_")}
    assert declared == public_methods(actor)
    for name in declared:
        assert getattr(proxy, name) is getattr(actor, name), f"{proxy.__name__}.{name} names another function"
