"""OTel ingest benchmark: spans through POST /otel/v1/traces as OTLP protobuf.

Usage: python bench/otel.py [--spans 500000] [--batch 512] [--clients 2] [--threads 4]
                            [--gzip]

Client processes build export requests before the clock starts (4-span GenAI traces: an
agent span, two chat spans with messages, usage and model attributes, and a tool span; about
0.8 kB of protobuf per span), then post them over keep-alive connections, as the SDK's
BatchSpanProcessor does with its default 512-span batches. Reports spans/s end to end,
request latency p50/p99, the server's CPU per span and peak RSS.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

sys.path.insert(0, str(Path(__file__).parent))
from common import (  # noqa: E402
    Server,
    ingest_figures,
    machine,
    post_all,
    run_clients,
    sentence,
)


def _set(span, key: str, value) -> None:
    kv = span.attributes.add()
    kv.key = key
    if isinstance(value, str):
        kv.value.string_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    else:
        kv.value.int_value = value


def _text(content: str) -> dict:
    return {"type": "text", "content": content}


def add_trace(scope, rng: random.Random, trace_no: int, start_ns: int) -> None:
    """One agent trace of 4 spans, attributes as GenAI instrumentations set them."""
    trace_id = trace_no.to_bytes(16, "big")
    root = (trace_no << 8 | 1).to_bytes(8, "big")
    for k, (name, operation) in enumerate(
        [("invoke_agent", "invoke_agent"), ("chat", "chat"), ("tool", "execute_tool")]
        + [("chat", "chat")]
    ):
        span = scope.spans.add()
        span.trace_id = trace_id
        span.span_id = (trace_no << 8 | (k + 1)).to_bytes(8, "big")
        if k:
            span.parent_span_id = root
        span.name = f"{operation} {name}"
        span.kind = 3 if operation == "chat" else 1
        span.start_time_unix_nano = start_ns + k * 100_000_000
        span.end_time_unix_nano = span.start_time_unix_nano + rng.randint(10, 900) * 1_000_000
        _set(span, "gen_ai.operation.name", operation)
        _set(span, "user.id", f"user-{rng.randint(1, 500)}")
        if operation == "chat":
            prompt = [{"role": "user", "parts": [_text(sentence(rng, 40))]}]
            answer = [{"role": "assistant", "parts": [_text(sentence(rng, 60))]}]
            _set(span, "gen_ai.provider.name", "openai")
            _set(span, "gen_ai.request.model", rng.choice(["gpt-4o", "gpt-4o-mini"]))
            _set(span, "gen_ai.request.temperature", 0.2)
            _set(span, "gen_ai.input.messages", json.dumps(prompt))
            _set(span, "gen_ai.output.messages", json.dumps(answer))
            _set(span, "gen_ai.usage.input_tokens", rng.randint(50, 2000))
            _set(span, "gen_ai.usage.output_tokens", rng.randint(10, 500))
            _set(span, "gen_ai.response.id", f"chatcmpl-{trace_no}-{k}")
            _set(span, "server.address", "api.openai.com")
        elif operation == "execute_tool":
            _set(span, "gen_ai.tool.name", "search")
            _set(span, "gen_ai.tool.call.arguments", json.dumps({"q": sentence(rng, 5)}))
            _set(span, "gen_ai.tool.call.result", json.dumps({"hits": sentence(rng, 30)}))
        else:
            _set(span, "gen_ai.agent.name", "support")


def make_bodies(first_trace: int, traces: int, batch: int, compress: bool) -> list[bytes]:
    rng = random.Random(first_trace)
    start_ns = time.time_ns()
    bodies = []
    per_request = max(1, batch // 4)
    for t in range(first_trace, first_trace + traces, per_request):
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        service = resource_spans.resource.attributes.add()
        service.key, service.value.string_value = "service.name", "bench-agent"
        scope = resource_spans.scope_spans.add()
        scope.scope.name = "bench"
        for trace_no in range(t, min(t + per_request, first_trace + traces)):
            add_trace(scope, rng, trace_no + 1, start_ns + trace_no * 1_000_000)
        body = request.SerializeToString()
        bodies.append(gzip.compress(body, 1) if compress else body)
    return bodies


def client_worker(url, project_id, first, traces, batch, threads, compress, ready, go, out):
    bodies = make_bodies(first, traces, batch, compress)
    headers = f"Content-Type: application/x-protobuf\r\nx-bt-parent: project_id:{project_id}\r\n"
    if compress:
        headers += "Content-Encoding: gzip\r\n"
    out.put(
        post_all(
            url,
            "/otel/v1/traces",
            bodies,
            threads,
            ready,
            go,
            headers=headers,
            # an empty protobuf answer: nothing rejected
            accept=lambda status, answer: status == 200 and not answer,
        )
    )


def run(spans: int, batch: int, clients: int, threads: int, compress: bool) -> dict:
    traces = spans // 4
    per_client = traces // clients
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp) / "data") as server:
        with server.client() as http:
            project_id = http.post("/v1/project", json={"name": "bench-otel"}).json()["id"]
        client_args = [
            (server.url, project_id, c * per_client, per_client, batch, threads, compress)
            for c in range(clients)
        ]
        figures = run_clients(server, client_worker, client_args)
        sent = per_client * clients * 4
        with server.client() as http:
            query = f"measures: count(1) as n | from: project_logs('{project_id}')"
            answer = http.post("/btql", json={"query": query})
            answer.raise_for_status()
            stored = answer.json()["data"][0]["n"]
        result = ingest_figures(server, sent, batch, clients * threads, figures)
        return {**result, "stored": stored}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=500_000)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="connections per client")
    parser.add_argument("--gzip", action="store_true", help="gzip the bodies (level 1)")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(
        f"{'batch':>6} {'gzip':>5} {'conns':>5} {'spans':>8} {'stored':>8} {'spans/s':>8} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'RSS MiB':>8} {'srv cores':>9} {'srv µs/span':>11}"
    )
    r = run(args.spans, args.batch, args.clients, args.threads, args.gzip)
    print(
        f"{r['batch']:>6} {'yes' if args.gzip else 'no':>5} {r['connections']:>5} "
        f"{r['spans']:>8} {r['stored']:>8} {r['spans_per_s']:>8.0f} {r['p50_ms']:>7.1f} "
        f"{r['p99_ms']:>7.1f} {r['peak_rss_mib']:>8.0f} {r['server_cores']:>9.2f} "
        f"{r['server_cpu_us_per_span']:>11.1f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
