"""The HTTP layer: parse a request, call the layers below, serialise the answer."""
