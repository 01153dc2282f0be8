"""The HTTP and WebSocket room: Sanic app, routes, the bridge into the actors."""
