#!/usr/bin/env bash
# OTLP ingest: spans per second the agent's receiver accepts, protobuf
# batches of 512 spans (made once by the Python OpenTelemetry SDK's own
# encoder), posted by wrk -t2 -c8 for ${BENCH_DURATION:-10s} against a running
# sandbox; the run is long enough to fill the span ring (50,000 spans) many
# times over, so the figure is the rate with memory at the bound. The
# baseline in the same run is the registry's cheapest read
# (GET /_sandbox/health) on the same agent: requests/s of both, and
# spans/s = ingest requests/s x 512. Also prints the dashboard's first-load
# size (the page is one file with no other resources).
#
# Usage: benches/otlp.sh   (needs wrk, Docker, and $SANDBOX_VENV from .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${BENCH_DURATION:-10s}
VENV=${SANDBOX_VENV:-/opt/sandbox-venv}
BIN=${SANDBOX_BIN:-${CARGO_TARGET_DIR:-target}/release/sandbox}
[ -x "$BIN" ] || cargo build --release --quiet

# The service is the benchmarks' shopd image (benches/lib.sh builds it).
source benches/lib.sh
bench_init
build_bench_image
work="$BENCH_TMP"
name="bench-otlp-$$"
SANDBOX_NAMES+=("$work/sandbox.yaml|$name")
SANDBOX_BIN="$BIN"
write_manifest_head "$name" > "$work/sandbox.yaml"
cat >> "$work/sandbox.yaml" <<'YAML'
  pay:
    stub:
      routes:
        - match: { path: / }
          respond: { body: ok }
YAML
"$BIN" -f "$work/sandbox.yaml" --name "$name" up >/dev/null
status=$("$BIN" -f "$work/sandbox.yaml" --name "$name" status --json)
otlp=$(jq -r .otlp_url <<<"$status")
registry=$(jq -r .registry_url <<<"$status")

"$VENV/bin/python" - "$work/batch.pb" <<'PY'
import sys
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
kept = []
class Keep(SpanExporter):
    def export(self, spans):
        kept.extend(spans); return SpanExportResult.SUCCESS
provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
provider.add_span_processor(SimpleSpanProcessor(Keep()))
tracer = provider.get_tracer("bench")
for i in range(64):
    with tracer.start_as_current_span("request") as root:
        root.set_attribute("http.request.method", "GET")
        for j in range(7):
            with tracer.start_as_current_span("step %d" % j) as s:
                s.set_attribute("n", j)
open(sys.argv[1], "wb").write(encode_spans(kept[:512]).SerializeToString())
PY
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-protobuf"
local f = io.open("$work/batch.pb", "rb"); wrk.body = f:read("*a"); f:close()
LUA

rate() { awk '/Requests\/sec/ {print $2}'; }
wrk -t2 -c8 -d2s -s "$work/post.lua" "$otlp/v1/traces" >/dev/null # warm-up
ingest=$(wrk -t2 -c8 -d"$DURATION" -s "$work/post.lua" "$otlp/v1/traces" | rate)
health=$(wrk -t2 -c8 -d"$DURATION" "$registry/_sandbox/health" | rate)
spans=$(awk -v r="$ingest" 'BEGIN {printf "%.0f", r * 512}')
kept=$(curl -s "$registry/traces" | jq '[.traces[].spans] | add')
page=$(curl -s "$registry/" | wc -c)
agent=$(docker ps -q --filter "label=dev.sandbox.name=$name" --filter "label=dev.sandbox.kind=agent" | head -1)
memory=$(docker stats --no-stream --format '{{.MemUsage}}' "$agent" | cut -d/ -f1)
echo "batch: $(wc -c < "$work/batch.pb") bytes, 512 spans; ring: 50000 spans (listed now: $kept in the 200 newest traces)"
echo "ingest: $ingest req/s = $spans spans/s; registry GET /_sandbox/health: $health req/s (ratio $(awk -v a="$ingest" -v b="$health" 'BEGIN {printf "%.3f", a / b}'))"
echo "dashboard first load: $page bytes (one file)"
echo "agent memory after ingest (ring full): $memory"
echo "RESULT otlp spans_per_s=$spans ingest_rps=$ingest health_rps=$health dashboard_bytes=$page"
