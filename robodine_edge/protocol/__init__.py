"""Pure codecs of what crosses a wire: bytes in, values out.

The robot protocols (docs/ROBOTS.md): `link` (the NDJSON link), `telemetry` and `video`
(datagrams), `legacy` (the original robots' frames), `pose` and `fields` (shared
checks); and `mqtt`, federation's topics and bodies (docs/FEDERATION.md), shared by the
store and headquarters.

Nothing here does I/O or keeps state beyond a stream's own buffer; every decoder
raises only its module's error type for any input whatsoever. May import only the
core (`errors`, `types`, `clock`).
"""
