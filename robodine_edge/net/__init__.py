"""The network room, for robots and cameras: what the composition root binds and advertises.

* `sockets` — binding (port 0, reuse, the address in use explained); `discovery` and
  `mdns_names` — the mDNS record and a name of our own on the link.
* `robot_link` and `links` — the TCP link and its registry; `legacy_stream` (the
  protocol a link hands an original robot's plain stream to), `legacy_link` (what the
  stream's frames do) and `legacy_cook` — the original robots; `serial_link` — robots on a cable.
* `telemetry` and `video` — the UDP endpoints.

Runs on the event loop (serial on its own threads). May import the actors' slots and
messages, `threads`, `data`, `protocol`, `process` and the core; never `http`.
"""
