"""The MQTT client for one connection to the chain's broker, made from the config.

aiomqtt 2.x (on paho-mqtt 2.x) is the client: asyncio-native, so the relay is a task
on the service's own loop; MQTT v5, QoS 1, retained messages, a last will and TLS; its
blocking `connect` (DNS, TCP, the TLS handshake) runs in an executor thread, and the
socket is then served by the loop. paho keeps QoS 1 messages in flight only in memory
(lost on restart), which is why the outbox in SQLite, not the client, is what makes
delivery reliable. In flight is bounded twice: paho's `max_inflight_messages` and the
relay's own semaphore (a broker's receive maximum is not honoured by paho).

Event loop (a `Client` binds to the running loop when made).
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass

import aiomqtt

from robodine_edge.config import FederationConfig
from robodine_edge.protocol import mqtt as wire

MAX_INFLIGHT = 10
CONNECT_TIMEOUT_S = 10.0
MQTT_LOG = logging.getLogger("robodine_edge.federation.mqtt")


@dataclass(frozen=True)
class BrokerSettings:
    """What every connection of this process uses; made once, on the main thread (the
    CA file is read here, not on the loop)."""

    host: str
    port: int
    client_id: str
    username: str | None
    password: str | None
    keepalive_s: int
    tls: ssl.SSLContext | None
    chain: str
    store: str

    @classmethod
    def from_config(cls, config: FederationConfig, store: str) -> BrokerSettings:
        host, port, use_tls = config.broker
        context = None
        if use_tls:
            context = ssl.create_default_context(cafile=config.ca_file or None)
        return cls(
            host=host,
            port=port,
            client_id=f"robodine-{config.chain}-{store}",
            username=config.username or None,
            password=config.password or None,
            keepalive_s=config.keepalive_s,
            tls=context,
            chain=config.chain,
            store=store,
        )

    @property
    def address(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def make_client(settings: BrokerSettings, will: bytes) -> aiomqtt.Client:
    """A client whose last will is `will` (retained `status`, QoS 1). Clean start: the
    store keeps no session at the broker; what it owes is in its outbox."""
    return aiomqtt.Client(
        settings.host,
        settings.port,
        username=settings.username,
        password=settings.password,
        identifier=settings.client_id,
        protocol=aiomqtt.ProtocolVersion.V5,
        will=aiomqtt.Will(wire.status_topic(settings.chain, settings.store), will, qos=1, retain=True),
        clean_start=True,
        keepalive=settings.keepalive_s,
        timeout=min(max(float(settings.keepalive_s), 3.0), CONNECT_TIMEOUT_S),
        max_inflight_messages=MAX_INFLIGHT,
        tls_context=settings.tls,
        logger=MQTT_LOG,
    )
