"""OpenTelemetry (OTLP/HTTP) trace ingest, pure: decode an export request, map its spans to
tracelake rows by the conventions they follow, route them to their objects.

``wire`` (formats, compression, responses) -> ``draft`` (the row being built) ->
``conventions``/``frameworks`` (attribute mappings) and ``span_types`` -> ``spans``.
"""
