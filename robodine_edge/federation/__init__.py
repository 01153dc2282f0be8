"""Chain federation, the store's side (docs/FEDERATION.md): the relay that reports this
store to headquarters over MQTT and takes its desired state.

* `wire` — topics and bodies, pure; headquarters uses it too. May import only `errors`.
  The data room imports it to write outbox entries.
* the rest (`relay`, `session`, `streams`, `pacing`, `desired`, `robot_states`) runs on
  the event loop, next to the network room: it reaches actors through their slots and
  `threads/bridge.py`, the database through the read pool and the store's writer.
"""
