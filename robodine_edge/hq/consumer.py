"""The MQTT side of an hq process: take the stores' messages, store them, publish `ack`.

Runs on the event loop (aiomqtt, on paho-mqtt). Three tasks:

* `connect_forever` keeps one connection to the broker (MQTT v5, a clean session, an id of
  its own per connection), subscribes (`messages.subscriptions`: events through the shared
  subscription, statuses and robot states whole), republishes every store's `ack` from the
  database on each connection (a broker restarted without persistence forgot them), and
  files each message it receives into the pending `Batch`. A lost or refused connection is
  retried after 0.5 s, doubling to 30 s, with jitter.
* `write_forever` hands the pending batch to the writer thread (at most every
  `FLUSH_DELAY_S`, at once past `FLUSH_EVENTS`), then advances the watermarks of the stores
  it held and publishes one retained `ack {"seq": N}` per store that moved.
* `sweep_forever` advances every store's watermark each `SWEEP_S`: one held back by a gap
  that another hq process filled moves on without waiting for that store's next event.

The broker's PUBACK only says the message reached this process. What tells a store it may
forget an event is the `ack` watermark, published once the event is committed: an event
this process received but had not committed when it died is never acknowledged, and the
store sends it again. So nothing here needs the broker to redeliver.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import ssl
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiomqtt
import orjson
from peewee import DataError, IntegrityError

from robodine_edge.clock import utcnow
from robodine_edge.config import FederationConfig
from robodine_edge.errors import Unavailable
from robodine_edge.hq import messages
from robodine_edge.hq.messages import BadMessage, Kind
from robodine_edge.hq.storage import Batch, Worker, advance_watermarks, watermarks, write_batch, write_singly
from robodine_edge.protocol import mqtt as wire

log = logging.getLogger(__name__)
T = TypeVar("T")

FLUSH_DELAY_S = 0.02
FLUSH_EVENTS = 1000
MAX_PENDING_EVENTS = 50_000
"""Events held while the database does not answer; past this, new ones are not taken (the
store sends them again: nothing acknowledged them)."""
SWEEP_S = 1.0
RETRY_FIRST_S, RETRY_MAX_S = 0.5, 30.0
DB_RETRY_MAX_S = 10.0
PUBLISH_TIMEOUT_S = 10.0


def backoff(attempt: int, first: float, most: float) -> float:
    """The wait before retry number `attempt` (0-based): doubling, capped, with ±25 % jitter
    so a fleet of hq processes and stores does not reconnect in step."""
    return float(min(first * 2**attempt, most) * random.uniform(0.75, 1.25))


class Consumer:
    """One hq process's broker connection and pending batch. Event loop only."""

    def __init__(self, federation: FederationConfig, writer: Worker, tls: ssl.SSLContext | None) -> None:
        self._fed = federation
        self._writer = writer
        self._tls = tls
        self._batch = Batch()
        self._arrived = asyncio.Event()
        self._client: aiomqtt.Client | None = None
        self._acks: set[asyncio.Task[None]] = set()
        self.counts: Counter[str] = Counter()
        self.db_ok = True

    @property
    def connected(self) -> bool:
        return self._client is not None

    # -- the connection ---------------------------------------------------------------------

    async def connect_forever(self) -> None:
        host, port, _tls = self._fed.broker
        url = (host, port)
        attempt = 0
        while True:
            try:
                async with self._new_client(url) as client:
                    client.pending_calls_threshold = 100_000  # acks of many stores are in flight at once
                    await client.subscribe(messages.subscriptions(self._fed.chain))
                    self._client = client
                    attempt = 0
                    log.info("connected to the broker", extra={"fields": {"url": self._fed.url}})
                    await self._republish_acks()
                    async for message in client.messages:
                        self._take(str(message.topic), message.payload)
            except Exception as exc:  # the broker's errors, and anything else: never stop consuming
                was_connected, self._client = self._client is not None, None
                wait = backoff(attempt, RETRY_FIRST_S, RETRY_MAX_S)
                attempt += 1
                if not isinstance(exc, aiomqtt.MqttError):
                    log.exception("the consumer failed; reconnecting in %.1f s", wait)
                elif was_connected:
                    log.warning("lost the broker (%s); reconnecting", exc)
                elif attempt == 1 or attempt % 10 == 0:
                    log.warning("cannot reach the broker at %s (%s); retrying in %.1f s", self._fed.url, exc, wait)
                await asyncio.sleep(wait)
            finally:
                self._client = None

    def _new_client(self, target: tuple[str, int]) -> aiomqtt.Client:
        host, port = target
        return aiomqtt.Client(
            host,
            port,
            username=self._fed.username or None,
            password=self._fed.password or None,
            identifier=f"robodine-hq-{self._fed.chain}-{secrets.token_hex(4)}",
            protocol=aiomqtt.ProtocolVersion.V5,
            keepalive=self._fed.keepalive_s,
            tls_context=self._tls,
            timeout=PUBLISH_TIMEOUT_S,
        )

    def _take(self, topic: str, payload: Any) -> None:
        """File one received message into the pending batch; a malformed one is logged and dropped."""
        address = messages.parse_topic(self._fed.chain, topic)
        if address is None or not isinstance(payload, bytes) or not payload:
            return  # not ours, or a retained message being cleared
        now = utcnow()
        try:
            if address.kind is Kind.EVENT:
                self.counts["received"] += 1
                if len(self._batch.events) >= MAX_PENDING_EVENTS:
                    self.counts["deferred"] += 1  # not acknowledged: the store sends it again
                    return
                self._batch.add_event(messages.parse_event(address, payload), now)
            elif address.kind is Kind.STATUS:
                self._batch.add_status(address.store, messages.parse_status(payload), now)
            else:
                self._batch.add_robot(address.store, address.name, messages.parse_robot(payload), now)
        except BadMessage as exc:
            self.counts["bad"] += 1
            log.warning("ignored a message on %s: %s", topic, exc)
            return
        self._arrived.set()

    # -- storing and acknowledging ------------------------------------------------------------

    async def write_forever(self) -> None:
        while True:
            await self._arrived.wait()
            if len(self._batch.events) < FLUSH_EVENTS:
                await asyncio.sleep(FLUSH_DELAY_S)
            batch, self._batch = self._batch, Batch()
            self._arrived.clear()
            started = time.monotonic()
            moved = await self._persist(batch)
            self.counts["stored"] += len(batch.events)
            self._send_acks(moved)
            log.debug("stored %d events of %d stores in %.1f ms; %d acks", len(batch.events), len(batch.seen),
                      (time.monotonic() - started) * 1000, len(moved))  # fmt: skip

    async def sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                self._send_acks(await self._on_writer(advance_watermarks, None))
            except Exception as exc:  # the database is away; write_forever reports it
                log.debug("watermark sweep failed: %s", exc)

    async def _persist(self, batch: Batch) -> dict[str, int]:
        """Write `batch` and advance the watermarks of its stores, retrying while the database
        is away; rows the database refuses outright are written one by one and the refused
        ones dropped with an error (never acknowledged)."""
        attempt = 0
        while True:
            try:
                stores = await self._on_writer(write_batch, batch, utcnow())
                moved = await self._on_writer(advance_watermarks, stores)
            except (DataError, IntegrityError) as exc:
                log.error("the database refused a batch (%s); writing its rows one by one", exc)
                stores = await self._on_writer(write_singly, batch, utcnow())
                moved = await self._on_writer(advance_watermarks, stores)
            except Exception as exc:
                wait = backoff(attempt, RETRY_FIRST_S, DB_RETRY_MAX_S)
                attempt += 1
                if self.db_ok or attempt % 10 == 0:
                    log.warning("cannot write the chain database (%s); retrying in %.1f s", exc, wait)
                self.db_ok = False
                await asyncio.sleep(wait)
                continue
            if not self.db_ok:
                log.info("the chain database is writable again")
            self.db_ok = True
            return moved

    async def _on_writer(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self._writer.submit(fn, *args))

    async def _republish_acks(self) -> None:
        try:
            self._send_acks(await self._on_writer(watermarks))
        except Exception as exc:
            log.warning("could not read the watermarks to publish them again: %s", exc)

    def _send_acks(self, moved: dict[str, int]) -> None:
        """Publish each store's `ack` (retained, QoS 1); a store's newest watermark is sent last.
        With no connection they wait for the next one (`_republish_acks`)."""
        client = self._client
        if not moved or client is None:
            return
        sends = [
            client.publish(wire.ack_topic(self._fed.chain, store), wire.ack_body(seq), qos=1, retain=True)
            for store, seq in moved.items()
        ]
        task = asyncio.get_running_loop().create_task(self._confirm(sends, len(moved)))
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    async def _confirm(self, sends: Sequence[Awaitable[None]], count: int) -> None:
        results = await asyncio.gather(*sends, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        self.counts["acks"] += count - len(failed)
        if failed:
            log.info("%d acks not confirmed by the broker (%s); they are sent again on reconnection",
                     len(failed), failed[0])  # fmt: skip

    # -- what the HTTP API publishes -------------------------------------------------------------

    async def publish_retained(self, topic: str, body: dict[str, Any]) -> None:
        """Publish `body` retained at QoS 1 and wait for the broker to take it."""
        client = self._client
        if client is None:
            raise Unavailable("not connected to the broker: nothing was published; try again")
        try:
            await client.publish(topic, orjson.dumps(body), qos=1, retain=True, timeout=PUBLISH_TIMEOUT_S)
        except aiomqtt.MqttError as exc:
            raise Unavailable(f"the broker did not take the message ({exc}); try again") from None

    async def drain(self) -> None:
        """At stop: write what is pending and wait for the acks in flight (bounded by the caller)."""
        if self._batch:
            batch, self._batch = self._batch, Batch()
            self._send_acks(await self._persist(batch))
        if self._acks:
            await asyncio.gather(*self._acks, return_exceptions=True)


def tls_context(federation: FederationConfig) -> ssl.SSLContext | None:
    """The TLS context of an mqtts:// broker (reads `ca_file`: main thread, at start)."""
    if not federation.url.startswith("mqtts://"):
        return None
    return ssl.create_default_context(cafile=federation.ca_file or None)
