"""The loop-owned request figures export exactly what prometheus_client's own types would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from robodine_edge.process.metrics import LATENCY_BUCKETS, Metrics

OBSERVED = [
    ("/api/menu", "GET", 200, 0.0001),
    ("/api/menu", "GET", 200, 0.0005),  # on a bucket's bound: counted in it (le)
    ("/api/menu", "GET", 304, 0.0007),
    ("/api/orders", "POST", 201, 0.003),
    ("/api/orders", "POST", 409, 0.2),
    ("/api/menu", "GET", 200, 7.0),  # past the last bound: only +Inf
    ("unmatched", "OTHER", 404, None),  # no start time: counted, not timed
]


def _series(text: bytes, prefix: str) -> list[str]:
    return [line for line in text.decode().splitlines() if line.startswith(prefix) and "_created" not in line]


def test_request_figures_match_prometheus_clients_counter_and_histogram() -> None:
    metrics = Metrics()
    reference = CollectorRegistry()
    counter = Counter("robodine_http_requests", "x", ["route", "method", "status"], registry=reference)
    histogram = Histogram("robodine_http_request_duration_seconds", "x", ["route"], buckets=LATENCY_BUCKETS,
                          registry=reference)  # fmt: skip
    for route, method, status, seconds in OBSERVED:
        metrics.http.record(route, method, status, seconds)
        counter.labels(route, method, str(status)).inc()
        if seconds is not None:
            histogram.labels(route).observe(seconds)
    for name in ("robodine_http_requests_total", "robodine_http_request_duration_seconds"):
        ours, theirs = _series(metrics.render(), name), _series(generate_latest(reference), name)
        assert ours and sorted(ours) == sorted(theirs)
