//! Traces: the Python OpenTelemetry SDK exports to the agent's OTLP
//! receiver (protobuf, gzip, and JSON), and a service's own span and the
//! agent's span for its call to a stub form one tree.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::*;

cases! {
    docker: [
        the_python_sdk_exports_in_protobuf_and_json,
        a_service_span_and_the_agent_span_form_one_tree,
    ],
    plain: [a_dependency_on_the_otlp_port_is_refused_by_validate],
}

/// The venv's Python with the OpenTelemetry SDK and its OTLP/HTTP exporter.
fn otel_python() -> Option<PathBuf> {
    crate::common::venv_python("opentelemetry.sdk, opentelemetry.exporter.otlp.proto.http")
}

/// Two spans (`checkout`, and `charge` under it, failed) made with the SDK
/// and exported by its OTLP/HTTP protobuf exporter (gzip), or as OTLP JSON
/// (the SDK's own encoder, ids in hex as the OTLP JSON mapping says).
const EXPORT: &str = r#"
import base64, json, sys, urllib.request
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from google.protobuf.json_format import MessageToDict

mode, endpoint, service = sys.argv[1:4]

class JsonExporter(SpanExporter):
    def export(self, spans):
        doc = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
        for rs in doc.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                for s in ss.get("spans", []):
                    for k in ("traceId", "spanId", "parentSpanId"):
                        if k in s:
                            s[k] = base64.b64decode(s[k]).hex()
        request = urllib.request.Request(endpoint + "/v1/traces", data=json.dumps(doc).encode(),
                                         headers={"Content-Type": "application/json"})
        answer = urllib.request.urlopen(request)
        assert answer.status == 200, answer.status
        return SpanExportResult.SUCCESS
    def shutdown(self):
        pass

if mode == "protobuf":
    exporter = OTLPSpanExporter(endpoint=endpoint + "/v1/traces", compression=Compression.Gzip)
else:
    exporter = JsonExporter()
provider = TracerProvider(resource=Resource.create({"service.name": service}))
provider.add_span_processor(SimpleSpanProcessor(exporter))
tracer = provider.get_tracer("sandbox-test")
with tracer.start_as_current_span("checkout") as root:
    with tracer.start_as_current_span("charge") as child:
        child.set_attribute("amount", 3)
        child.set_status(trace.Status(trace.StatusCode.ERROR))
provider.shutdown()
print(format(root.get_span_context().trace_id, "032x"))
"#;

const MANIFEST: &str = r#"
version: 1
service:
  name: orders
  build: ./app
  command: ["/shopd", "orders", "--port", "8080"]
  ports: { http: 8080 }
dependencies:
  catalog:
    stub:
      routes:
        - match: { path: /healthz }
          respond: { body: ok }
"#;

fn the_python_sdk_exports_in_protobuf_and_json() {
    if !docker_or_skip() {
        return;
    }
    let Some(python) = otel_python() else {
        return;
    };
    let sandbox = Sandbox::new("traces-sdk", MANIFEST);
    sandbox.ok(&["up"]);
    let status = sandbox.status();
    let otlp = status["otlp_url"].as_str().expect("otlp_url").to_owned();
    let registry = status["registry_url"].as_str().unwrap().to_owned();
    for (mode, service) in [("protobuf", "billing"), ("json", "ledger")] {
        let out = Command::new(&python)
            .args(["-c", EXPORT, mode, &otlp, service])
            .output()
            .unwrap();
        assert!(out.status.success(), "{mode}: {}", stderr(&out));
        let trace_id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("Failed to export"),
            "{mode}: {}",
            stderr(&out)
        );

        let (code, list) = get(&format!("{registry}/traces"));
        assert_eq!(code, 200);
        let list: Value = serde_json::from_str(&list).unwrap();
        let listed = list["traces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["trace_id"] == trace_id.as_str())
            .unwrap_or_else(|| panic!("{mode}: {trace_id} not in {list}"))
            .clone();
        assert_eq!(listed["root"], format!("{service}: checkout"), "{listed}");
        assert_eq!(listed["spans"], 2);
        assert_eq!(listed["entries"], serde_json::json!([service]));
        assert_eq!(listed["error"], true);

        let (code, one) = get(&format!("{registry}/traces/{trace_id}"));
        assert_eq!(code, 200);
        let one: Value = serde_json::from_str(&one).unwrap();
        let spans = one["spans"].as_array().unwrap();
        let root = spans.iter().find(|s| s["name"] == "checkout").unwrap();
        let child = spans.iter().find(|s| s["name"] == "charge").unwrap();
        assert_eq!(child["parent_span_id"], root["span_id"], "{one}");
        assert_eq!(root["parent_span_id"], Value::Null);
        assert_eq!(child["status"], "error");
        assert_eq!(child["kind"], "internal");
        assert_eq!(child["attributes"]["amount"], 3);
        assert_eq!(child["entry"], service);
    }
    // A body that is not OTLP is refused with a reason.
    let (code, body) = http("POST", &format!("{otlp}/v1/traces"), Some("{"));
    assert_eq!(code, 400, "{body}");
}

fn a_service_span_and_the_agent_span_form_one_tree() {
    if !docker_or_skip() {
        return;
    }
    let sandbox = Sandbox::new("traces-tree", MANIFEST);
    sandbox.ok(&["up"]);
    let status = sandbox.status();
    let otlp = status["otlp_url"].as_str().unwrap().to_owned();
    let orders = sandbox.url("orders");
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let service_span = "00f067aa0ba902b7";

    // orders passes the caller's traceparent on to the catalog stub.
    let answer = request(
        "GET",
        &format!("{orders}/healthz"),
        &[("traceparent", &format!("00-{trace}-{service_span}-01"))],
        None,
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    // orders' own span for that request, as an SDK in it would send it.
    let span = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"orders"}}}}]}},
        "scopeSpans":[{{"spans":[{{"traceId":"{trace}","spanId":"{service_span}","name":"GET /healthz","kind":2,
        "startTimeUnixNano":"{start}","endTimeUnixNano":"{end}"}}]}}]}}]}}"#,
        start = now_ns() - 50_000_000,
        end = now_ns(),
    );
    let (code, body) = http("POST", &format!("{otlp}/v1/traces"), Some(&span));
    assert_eq!((code, body.as_str()), (200, "{}"));

    let tree = sandbox.ok(&["traces", trace]);
    let lines: Vec<&str> = tree.lines().collect();
    assert!(lines[0].starts_with(&format!("trace {trace}")), "{tree}");
    assert!(lines[1].starts_with("orders: GET /healthz  +"), "{tree}");
    assert!(
        lines[2].starts_with("  catalog: GET /healthz -> 200  +"),
        "{tree}"
    );
    let json: Value = serde_json::from_str(&sandbox.ok(&["traces", trace, "--json"])).unwrap();
    let agent = json["spans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["entry"] == "catalog")
        .unwrap();
    assert_eq!(agent["parent_span_id"], service_span);
    assert_eq!(agent["attributes"]["sandbox.caller"], "orders");

    let list = sandbox.ok(&["traces"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with(trace) && l.ends_with("orders: GET /healthz")),
        "{list}"
    );
    assert_eq!(
        sandbox.run(&["traces", "nothex"]).status.code(),
        Some(2),
        "a bad trace id is a usage error"
    );
}

fn now_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A stub on 4318 would collide with the registry's OTLP receiver in the
/// same agent: `validate` says so, at the port's line and column.
fn a_dependency_on_the_otlp_port_is_refused_by_validate() {
    let sandbox = Sandbox::new(
        "otlp-port",
        "version: 1\nservice:\n  name: orders\n  build: ./app\n  ports: { http: 8080 }\n\
         dependencies:\n  collector:\n    stub:\n      port: 4318\n",
    );
    let out = sandbox.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(
        text.contains("sandbox.yaml:9:13: `dependencies.collector.stub.port` is the port of the registry's OTLP receiver"),
        "{text}"
    );
}
