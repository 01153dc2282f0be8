"""One module per router of docs/API.md; `ROUTERS` lists them for the app factory."""
