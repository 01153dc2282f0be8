"""Chain federation, the store's side (docs/FEDERATION.md): the relay that reports this
store to headquarters over MQTT and takes its desired state.

`relay`, `session`, `streams`, `pacing`, `desired` and `robot_states` run on the event
loop, next to the network room; their topics and bodies are `protocol/mqtt.py` (pure,
shared with headquarters). May import the actors through their slots and proxies,
`threads` (the bridge), `data` (the read pool and the units the writer runs), `process`,
`protocol` and the core; never `http` or `net`.
"""
