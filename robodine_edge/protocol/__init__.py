"""Pure codecs of the robot protocols (docs/ROBOTS.md): bytes in, values out.

Nothing here does I/O or keeps state beyond a stream's own buffer; every decoder
raises only its module's error type for any input whatsoever.
"""
