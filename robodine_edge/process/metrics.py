"""The service's Prometheus metrics (prometheus-client), exposed at `GET /metrics`.

One registry per service (not the library's global one, so tests can run several).
Counters are updated from whichever thread does the work (the client's metrics are
thread-safe); gauges that describe state owned elsewhere (actor mailbox depths) are
read at scrape time through callbacks. The per-request figures are the exception: the
event loop alone answers requests, so it keeps them in plain numbers (`RequestStats`)
that the exposition reads at scrape time, on the loop too.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

disable_created_metrics()  # the *_created series only double the scrape size
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class _GaugeCallback(Collector):
    """A labelled gauge whose values are read at scrape time from `read()`."""

    def __init__(self, name: str, documentation: str, label: str, read: Callable[[], dict[str, float]]) -> None:
        self._name, self._doc, self._label, self._read = name, documentation, label, read

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(self._name, self._doc, labels=[self._label])
        for key, value in sorted(self._read().items()):
            family.add_metric([key], value)
        yield family


class RequestStats(Collector):
    """HTTP requests by (route, method, status) and their latency by route. Event loop only.

    prometheus_client's Counter and Histogram take a lock on every update; for a cached
    list read in `make bench` that was ~10 % of the request. These are plain numbers,
    written and read (at scrape time) by the loop, exported under the same names.
    """

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self._bounds = buckets
        self._requests: dict[tuple[str, str, str], int] = {}
        self._latency: dict[str, list[float]] = {}
        """route → a count per bucket (the last for +Inf), then the sum of seconds."""

    def record(self, route: str, method: str, status: int, seconds: float | None) -> None:
        key = (route, method, str(status))
        self._requests[key] = self._requests.get(key, 0) + 1
        if seconds is None:
            return
        counts = self._latency.get(route)
        if counts is None:
            counts = self._latency[route] = [0.0] * (len(self._bounds) + 2)
        counts[bisect_left(self._bounds, seconds)] += 1
        counts[-1] += seconds

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        requests = CounterMetricFamily(
            "robodine_http_requests", "HTTP requests answered, by route, method and status.",
            labels=["route", "method", "status"],
        )  # fmt: skip
        for labels, count in sorted(self._requests.items()):
            requests.add_metric(list(labels), count)
        yield requests
        latency = HistogramMetricFamily(
            "robodine_http_request_duration_seconds", "Time to answer an HTTP request, by route.", labels=["route"]
        )
        for route, counts in sorted(self._latency.items()):
            cumulative, buckets = 0.0, []
            for bound, hits in zip((*map(str, self._bounds), "+Inf"), counts[:-1], strict=True):
                cumulative += hits
                buckets.append((bound, cumulative))
            latency.add_metric([route], buckets, counts[-1])
        yield latency


class Metrics:
    """Every metric the service exports, created once by the composition root."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.http = RequestStats()
        self.registry.register(self.http)
        self.db_commit = Histogram(
            "robodine_db_commit_seconds",
            "Time from the first write of a batch to its durable commit.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.db_writes = Counter(
            "robodine_db_writes",
            "Units of work committed by the writer actor.",
            registry=self.registry,
        )
        self.db_wal_bytes = Counter(
            "robodine_db_wal_bytes",
            "Bytes appended to the database's WAL, by kind of write (orders, poses, events, purge, other);"
            " a commit of several kinds is shared out by the rows each changed.",
            ["kind"],
            registry=self.registry,
        )
        self.db_checkpoint_bytes = Counter(
            "robodine_db_checkpoint_bytes",
            "Bytes written to storage by WAL checkpoints (the care thread's own).",
            registry=self.registry,
        )
        self.purged_rows = Counter(
            "robodine_purged_rows",
            "Rows deleted by retention, by table (pose, event, notification).",
            ["table"],
            registry=self.registry,
        )
        self.backups = Counter(
            "robodine_backups",
            "Scheduled backups, by result (ok, failed).",
            ["result"],
            registry=self.registry,
        )
        self.data_free_bytes = Gauge(
            "robodine_data_free_bytes",
            "Free space in the data directory, as last measured by the disk watch.",
            registry=self.registry,
        )
        self.link_frames = Counter(
            "robodine_link_frames",
            "Lines received on robot links (TCP and serial): ok (handed on), or dropped by reason.",
            ["result"],
            registry=self.registry,
        )
        self.legacy_frames = Counter(
            "robodine_legacy_frames",
            "Legacy msg_type frames: ok (applied), not_applied, skipped (after one that was not), "
            "unreadable or too_long (a whole stream, counted once).",
            ["result"],
            registry=self.registry,
        )
        self.legacy_answers = Counter(
            "robodine_legacy_answers",
            "Answers to legacy connections (ok = OK, error = ERROR).",
            ["answer"],
            registry=self.registry,
        )
        self.telemetry_datagrams = Counter(
            "robodine_telemetry_datagrams",
            "Telemetry datagrams received: accepted, or dropped by reason.",
            ["result"],
            registry=self.registry,
        )
        self.video_datagrams = Counter(
            "robodine_video_datagrams",
            "Camera datagrams received: accepted, or dropped by reason.",
            ["result"],
            registry=self.registry,
        )
        self.video_frames = Counter(
            "robodine_video_frames",
            "Camera frames: complete (handed to the camera), or dropped by reason.",
            ["result"],
            registry=self.registry,
        )
        self.robots_online = Gauge(
            "robodine_robots_online", "Robots online now (set when scraped).", registry=self.registry
        )
        self.ws_clients = Gauge(
            "robodine_websocket_clients", "WebSocket clients connected now.", registry=self.registry
        )
        self.ws_replay_bytes = Gauge(
            "robodine_websocket_replay_bytes",
            "Memory the live topics keep for since= resumes (set when scraped).",
            registry=self.registry,
        )
        self.sqlite_memory_bytes = Gauge(
            "robodine_sqlite_memory_bytes",
            "Memory SQLite holds, page caches of every connection included (set when scraped).",
            registry=self.registry,
        )
        self.ws_messages = Counter(
            "robodine_websocket_messages", "Messages sent to WebSocket clients.", registry=self.registry
        )
        self.ws_slow_closed = Counter(
            "robodine_websocket_slow_closed",
            "WebSocket clients closed (1013) for not keeping up.",
            registry=self.registry,
        )
        self.actor_restarts = Counter(
            "robodine_actor_restarts",
            "Actors restarted by the supervisor, by actor.",
            ["actor"],
            registry=self.registry,
        )

        self.federation_backlog = Gauge(
            "robodine_federation_backlog",
            "Events not yet acknowledged by headquarters (0 with federation off).",
            registry=self.registry,
        )
        self.federation_inflight = Gauge(
            "robodine_federation_inflight",
            "QoS 1 messages sent to the broker and waiting for its PUBACK (at most 10).",
            registry=self.registry,
        )
        self.federation_published = Counter(
            "robodine_federation_published",
            "Messages the broker acknowledged (PUBACK): events, status, robot states, cfg-acks.",
            registry=self.registry,
        )

    def record_commit(self, seconds: float, units: int) -> None:
        """Runs on the writer actor's thread after each durable commit."""
        self.db_commit.observe(seconds)
        self.db_writes.inc(units)

    def watch_mailboxes(self, read: Callable[[], dict[str, float]]) -> None:
        self.registry.register(
            _GaugeCallback("robodine_actor_mailbox_depth", "Messages waiting in each actor's mailbox.", "actor", read)
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class LabelChildren(dict[str, Any]):
    """A counter's children by label, each made on its first use and kept: `labels()`
    takes a lock and looks the child up on every call, too much for every line. Event
    loop only."""

    def __init__(self, counter: Any) -> None:
        super().__init__()
        self._counter = counter

    def __missing__(self, label: str) -> Any:
        child = self[label] = self._counter.labels(label)
        return child
