"""One module per router of SPEC section 2; `ROUTERS` lists them for the app factory."""
