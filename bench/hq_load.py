"""Simulated stores for the HQ bench: `python -m bench.hq_load PORT CHAIN FIRST COUNT RATE SECONDS`.

Stores FIRST .. FIRST+COUNT-1 (`store-<n>`) each publish `evt/order_status` bodies as the
SPEC gives them (~600 bytes, an `order` inside) at RATE events/s, QoS 1 with at most 10 in
flight (as a store's relay), for SECONDS, then wait (at most 30 s) for the ack to cover
everything. Each event's ack lag is the time from its publish to the `ack` that covers it.
Prints one JSON object: sent, acked, and every lag in ms (events of the first WARMUP_S left out).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiomqtt
import orjson

WARMUP_S = 5.0
DRAIN_S = 30.0


def body(store: str, seq: int) -> bytes:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    order = {"id": seq, "table_id": 1 + seq % 12, "status": "cooking", "total": 23.5, "created_at": now,
             "updated_at": now, "items": [{"menu_item_id": 3, "name": "Ramen", "quantity": 2, "price": 9.5, "note": None},
                                          {"menu_item_id": 7, "name": "Green tea", "quantity": 2, "price": 2.25, "note": None}]}  # fmt: skip
    data = {"id": seq, "type": "order_status", "level": "info", "entity_type": "order", "entity_id": seq,
            "message": f"order {seq} is cooking", "created_at": now, "order": order}  # fmt: skip
    return orjson.dumps({"event_id": str(uuid.uuid4()), "seq": seq, "store": store, "type": "order_status",
                         "occurred_at": now, "data": data})  # fmt: skip


async def one_store(port: int, chain: str, store: str, rate: float, seconds: float, start: float) -> dict[str, Any]:
    sent_at: dict[int, float] = {}
    lags: list[float] = []
    state = {"acked": 0, "sent": 0}
    everything = asyncio.Event()
    async with aiomqtt.Client(
        "127.0.0.1", port, identifier=f"robodine-{chain}-{store}", protocol=aiomqtt.ProtocolVersion.V5,
        max_inflight_messages=10, keepalive=30,
    ) as client:  # fmt: skip
        client.pending_calls_threshold = 100_000
        await client.subscribe(f"robodine/v1/{chain}/{store}/ack", qos=1)

        async def read_acks() -> None:
            async for message in client.messages:
                seq, now = orjson.loads(message.payload)["seq"], time.monotonic()
                for covered in range(state["acked"] + 1, seq + 1):
                    at = sent_at.pop(covered, None)
                    if at is not None and at - start >= WARMUP_S:
                        lags.append((now - at) * 1000)
                state["acked"] = max(state["acked"], seq)
                if state["acked"] >= state["sent"] and state["sent"] and time.monotonic() > start + seconds:
                    everything.set()

        reader = asyncio.get_running_loop().create_task(read_acks())
        publishes: set[asyncio.Task[None]] = set()
        interval = 1 / rate
        due = start + (hash(store) % 1000) / 1000 * interval
        seq = 0
        while due < start + seconds:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            seq += 1
            sent_at[seq] = time.monotonic()
            task = asyncio.get_running_loop().create_task(
                client.publish(f"robodine/v1/{chain}/{store}/evt/order_status", body(store, seq), qos=1)
            )
            publishes.add(task)
            task.add_done_callback(publishes.discard)
            due += interval
        state["sent"] = seq
        if state["acked"] >= seq:
            everything.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everything.wait(), DRAIN_S)
        reader.cancel()
        await asyncio.gather(reader, *publishes, return_exceptions=True)
    return {"sent": seq, "acked": state["acked"], "lags": lags}


async def main(port: int, chain: str, first: int, count: int, rate: float, seconds: float) -> dict[str, Any]:
    start = time.monotonic() + 1.0  # every store connected before the clock starts
    results = await asyncio.gather(
        *(one_store(port, chain, f"store-{n}", rate, seconds, start) for n in range(first, first + count))
    )
    return {
        "sent": sum(r["sent"] for r in results),
        "acked": sum(min(r["acked"], r["sent"]) for r in results),
        "lags": [lag for r in results for lag in r["lags"]],
    }


if __name__ == "__main__":
    port, chain, first, count, rate, seconds = sys.argv[1:7]
    out = asyncio.run(main(int(port), chain, int(first), int(count), float(rate), float(seconds)))
    sys.stdout.write(orjson.dumps(out).decode())
