"""The hub's topics are one vocabulary: the `Topic` type, the hub's table of topics, and
what `publish` accepts. A misspelt topic is a type error for mypy, and fails at run time."""

from __future__ import annotations

import asyncio
from typing import cast, get_args

import pytest

from robodine_edge.http.hub import Hub
from robodine_edge.http.topics import TOPIC_KEYS, UnknownTopic
from robodine_edge.process.metrics import Metrics
from robodine_edge.types import Principal, Topic


async def no_snapshot(topic: Topic, principal: Principal) -> list[dict[str, object]]:
    return []


def test_the_topic_type_and_the_hub_name_the_same_topics() -> None:
    assert set(get_args(Topic)) == set(TOPIC_KEYS)


def test_publishing_to_an_unknown_topic_raises_in_the_publisher_attached_or_not() -> None:
    hub = Hub(Metrics())
    misspelt = cast(Topic, "tabels")  # what mypy refuses, as a caller without types could pass it
    with pytest.raises(UnknownTopic, match="tabels"):
        hub.publish_threadsafe(misspelt, "upsert", {"id": 1})

    async def scenario() -> None:
        hub.attach(asyncio.get_running_loop(), no_snapshot)
        with pytest.raises(UnknownTopic):
            hub.publish_threadsafe(misspelt, "upsert", {"id": 1})
        with pytest.raises(UnknownTopic):
            hub.publish(misspelt, "upsert", {"id": 1})
        hub.publish_threadsafe("tables", "upsert", {"id": 1})
        await asyncio.sleep(0)  # the loop turn that drains what was queued
        assert hub.topics["tables"].seq == 1

    asyncio.run(scenario())
