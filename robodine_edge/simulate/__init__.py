"""The robot fleet simulator (`robodine-edge simulate`): robots as seen from outside.

It imports only `protocol/` and talks to the edge over the network (TCP link, UDP
telemetry, HTTP for registration, mDNS to find it) — never actors, store or `http/`.
"""
