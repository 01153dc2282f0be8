"""The threads and the crossings between them."""
