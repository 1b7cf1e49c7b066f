//! `shopd`: the demo services of the `sandbox` example, in one static binary.
//!
//! Modes (first argument); every server mode takes `--port N` (default 8080):
//!   orders     the demo service: calls payments, inventory and catalog
//!   catalog    a small product catalog (a real dependency)
//!   fixture    an HTTP test fixture (health, env, echo, call, bytes, slow, status)
//!   tcp-echo   a TCP echo server
//!   static     the files of a folder (`--dir DIR`), as they are on disk now
//!   probe URL  GET URL; exit 0 on 2xx, else 1 (a healthcheck for scratch images)
//!   sleep      sleep forever (a container without a port)

mod http;
mod json;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{Client, Request, Response};
use json::Json;

const USAGE: &str = "usage: shopd MODE [--port N] [--bind ADDR]

--bind ADDR listens on ADDR only (default: every address), e.g. 127.0.0.1

modes:
  orders [--port N]     the demo service (env PAYMENTS_URL, INVENTORY_URL, CATALOG_URL)
  catalog [--port N]    a product catalog: GET /healthz, GET /products, GET /products/{sku}
  fixture [--port N]    a test fixture: /healthz (FAIL_HEALTH=1 fails it), /env, /call?url=,
                        /echo..., /bytes?n=, /slow?ms=, /status/{code}
  tcp-echo [--port N]   echo every byte back
  static --dir DIR [--port N]
                        GET /healthz, and GET /PATH answers DIR/PATH as it is on disk now
  probe URL             GET URL; exit 0 on 2xx, else 1
  sleep                 sleep forever
";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // `command: ["/shopd", "orders", ...]` in a manifest may reach us after an
    // image's `ENTRYPOINT ["/shopd"]`: then our own path comes first. Skip it.
    if args.first().is_some_and(|a| a.contains('/') && a.rsplit('/').next() == Some("shopd")) {
        args.remove(0);
    }
    let Some(mode) = args.first().cloned() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let port = match port_arg(rest) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("shopd: {e}");
            return ExitCode::from(2);
        }
    };
    let bind = bind_arg(rest);
    let result = match mode.as_str() {
        "orders" => http::serve(&bind, port, true, Arc::new(Orders::default().handler())),
        "catalog" => http::serve(&bind, port, true, Arc::new(catalog)),
        "fixture" => http::serve(&bind, port, true, Arc::new(fixture)),
        "tcp-echo" => tcp_echo(port),
        "static" => {
            let Some(dir) = value_arg(rest, "--dir") else {
                eprintln!("shopd: static needs --dir DIR");
                return ExitCode::from(2);
            };
            http::serve(&bind, port, true, Arc::new(move |req: &Request| serve_file(&dir, req)))
        }
        "probe" => {
            let Some(url) = rest.iter().find(|a| !a.starts_with("--")) else {
                eprintln!("shopd: probe needs a URL");
                return ExitCode::from(2);
            };
            return probe(url);
        }
        "sleep" => loop {
            thread::sleep(Duration::from_secs(3600));
        },
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("shopd: unknown mode {other:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shopd {mode}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--bind ADDR`: the address to listen on (default every address; a
/// process run on the host with `sandbox up --host` may keep to 127.0.0.1).
fn bind_arg(args: &[String]) -> String {
    let mut bind = "0.0.0.0".to_string();
    for (i, arg) in args.iter().enumerate() {
        if arg == "--bind" {
            if let Some(v) = args.get(i + 1) {
                bind = v.clone();
            }
        } else if let Some(v) = arg.strip_prefix("--bind=") {
            bind = v.to_string();
        }
    }
    bind
}

/// `NAME VALUE` or `NAME=VALUE`.
fn value_arg(args: &[String], name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    for (i, arg) in args.iter().enumerate() {
        if arg == name {
            return args.get(i + 1).cloned();
        }
        if let Some(v) = arg.strip_prefix(&prefix) {
            return Some(v.to_string());
        }
    }
    None
}

fn port_arg(args: &[String]) -> Result<u16, String> {
    let mut port = 8080;
    let mut i = 0;
    while i < args.len() {
        let value = if args[i] == "--port" {
            i += 1;
            Some(args.get(i).ok_or("--port needs a value")?.as_str())
        } else {
            args[i].strip_prefix("--port=")
        };
        if let Some(v) = value {
            port = v.parse().map_err(|_| format!("bad port {v:?}"))?;
        } else if args[i] == "--bind" {
            i += 1;
        }
        i += 1;
    }
    Ok(port)
}

fn json_error(status: u16, message: impl Into<String>) -> Response {
    Response::json(status, Json::obj(vec![("error", Json::str(message))]).to_string())
}

/// Percent-encodes one path segment.
fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The trace context headers to pass on to outgoing calls.
fn trace_headers(req: &Request) -> Vec<(String, String)> {
    ["traceparent", "tracestate"]
        .iter()
        .filter_map(|h| req.header(h).map(|v| (h.to_string(), v.to_string())))
        .collect()
}

// ------------------------------------------------------------------- orders

#[derive(Clone)]
struct Order {
    sku: String,
    qty: u64,
}

#[derive(Default)]
struct Orders {
    orders: Mutex<HashMap<String, Order>>,
    next: AtomicU64,
}

/// A dependency base URL from the environment, or a 503 naming the variable.
fn dep_url(var: &str) -> Result<String, Response> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v.trim().trim_end_matches('/').to_string()),
        _ => Err(json_error(503, format!("{var} is not set: orders cannot reach this dependency"))),
    }
}

/// Calls a dependency; a transport error or a non-2xx answer becomes a 502.
fn call_dep(
    name: &str,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&str>,
) -> Result<http::ClientResponse, Response> {
    let client = Client::default();
    let result = match body {
        Some(b) => client.post_json(url, headers, b),
        None => client.request(method, url, headers, None),
    };
    match result {
        Ok(r) if r.ok() => Ok(r),
        Ok(r) => Err(Response::json(
            502,
            Json::obj(vec![
                ("error", Json::str(format!("{name} answered {} to {method} {url}", r.status))),
                ("dependency", Json::str(name)),
                ("status", Json::Num(r.status as f64)),
                ("body", Json::from_body(&r.body)),
            ])
            .to_string(),
        )),
        Err(e) => Err(Response::json(
            502,
            Json::obj(vec![
                ("error", Json::str(format!("{name} unreachable: {e}"))),
                ("dependency", Json::str(name)),
            ])
            .to_string(),
        )),
    }
}

impl Orders {
    fn handler(self) -> impl Fn(&Request) -> Response + Send + Sync + 'static {
        move |req| match self.route(req) {
            Ok(r) | Err(r) => r,
        }
    }

    fn route(&self, req: &Request) -> Result<Response, Response> {
        let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        match (req.method.as_str(), segments.as_slice()) {
            ("GET" | "HEAD", ["healthz"]) => self.health(req),
            ("GET" | "HEAD", ["orders", id]) if !id.is_empty() => self.get(req, &http::percent_decode(id)),
            ("POST", ["orders"]) => self.create(req),
            (_, ["orders"] | ["orders", _] | ["healthz"]) => Ok(json_error(405, "method not allowed")),
            _ => Ok(json_error(404, format!("no route for {} {}", req.method, req.path))),
        }
    }

    /// Healthy only when the catalog answers its own health check.
    fn health(&self, req: &Request) -> Result<Response, Response> {
        let Ok(catalog) = std::env::var("CATALOG_URL") else {
            return Ok(Response::text(200, "ok"));
        };
        let client = Client {
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
        };
        let url = format!("{}/healthz", catalog.trim_end_matches('/'));
        match client.get(&url, &trace_headers(req)) {
            Ok(r) if r.ok() => Ok(Response::text(200, "ok")),
            Ok(r) => Ok(Response::text(503, format!("unhealthy: catalog answered {} to GET {url}", r.status))),
            Err(e) => Ok(Response::text(503, format!("unhealthy: catalog unreachable: {e}"))),
        }
    }

    fn get(&self, req: &Request, id: &str) -> Result<Response, Response> {
        let payments = dep_url("PAYMENTS_URL")?;
        let inventory = dep_url("INVENTORY_URL")?;
        let catalog = dep_url("CATALOG_URL")?;
        let known = self.orders.lock().unwrap().get(id).cloned();
        let (sku, qty) = match &known {
            Some(o) => (o.sku.clone(), Json::Num(o.qty as f64)),
            None => (req.query_param("sku").unwrap_or_else(|| "A1".to_string()), Json::Null),
        };
        let trace = trace_headers(req);
        let payment = call_dep("payments", "GET", &format!("{payments}/payments/{}", encode_segment(id)), &trace, None)?;
        let stock = call_dep("inventory", "GET", &format!("{inventory}/items/{}", encode_segment(&sku)), &trace, None)?;
        let product = call_dep("catalog", "GET", &format!("{catalog}/products/{}", encode_segment(&sku)), &trace, None)?;
        Ok(Response::json(
            200,
            Json::obj(vec![
                ("id", Json::str(id)),
                ("sku", Json::str(sku)),
                ("qty", qty),
                ("payment", Json::from_body(&payment.body)),
                ("stock", Json::from_body(&stock.body)),
                ("product", Json::from_body(&product.body)),
            ])
            .to_string(),
        ))
    }

    fn create(&self, req: &Request) -> Result<Response, Response> {
        let body = json::parse(&String::from_utf8_lossy(&req.body))
            .map_err(|e| json_error(400, format!("the body must be JSON like {{\"sku\": \"A1\", \"qty\": 1}}: {e}")))?;
        let sku = body
            .get("sku")
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| json_error(400, "\"sku\" (a string) is required"))?
            .to_string();
        let qty = match body.get("qty") {
            None | Some(Json::Null) => 1,
            Some(Json::Num(n)) if *n >= 1.0 && n.fract() == 0.0 && *n <= 1000.0 => *n as u64,
            Some(_) => return Err(json_error(400, "\"qty\" must be a whole number from 1 to 1000")),
        };
        let payments = dep_url("PAYMENTS_URL")?;
        let catalog = dep_url("CATALOG_URL")?;
        let trace = trace_headers(req);

        // The price comes from the catalog; an unknown product is the client's mistake.
        let product_url = format!("{catalog}/products/{}", encode_segment(&sku));
        let product = match Client::default().get(&product_url, &trace) {
            Ok(r) if r.status == 404 => return Err(json_error(422, format!("unknown sku {sku:?}"))),
            _ => call_dep("catalog", "GET", &product_url, &trace, None)?,
        };
        let product = Json::from_body(&product.body);
        let price = product
            .get("price")
            .and_then(Json::as_f64)
            .ok_or_else(|| json_error(502, format!("catalog gave no price for {sku}")))?;
        let amount = (price * qty as f64 * 100.0).round() / 100.0;

        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let id = format!("ord-{stamp:x}-{n}");
        let payment_request = Json::obj(vec![
            ("currency", Json::str("EUR")),
            ("amount", Json::Num(amount)),
            ("order", Json::str(id.clone())),
        ])
        .to_string();
        let payment = call_dep("payments", "POST", &format!("{payments}/payments"), &trace, Some(&payment_request))?;
        self.orders.lock().unwrap().insert(id.clone(), Order { sku: sku.clone(), qty });
        let payment_json = Json::obj(vec![
            ("status", Json::Num(payment.status as f64)),
            ("location", payment.header("location").map(Json::str).unwrap_or(Json::Null)),
            ("body", Json::from_body(&payment.body)),
        ]);
        Ok(Response::json(
            201,
            Json::obj(vec![
                ("id", Json::str(id.clone())),
                ("sku", Json::str(sku)),
                ("qty", Json::Num(qty as f64)),
                ("amount", Json::Num(amount)),
                ("currency", Json::str("EUR")),
                ("payment", payment_json),
            ])
            .to_string(),
        )
        .with_header("location", &format!("/orders/{id}")))
    }
}

// ------------------------------------------------------------------ catalog

const PRODUCTS: [(&str, &str, f64); 3] = [
    ("A1", "Espresso cup", 12.5),
    ("B2", "Milk jug", 19.9),
    ("C3", "Coffee tamper", 29.0),
];

fn product_json(sku: &str, name: &str, price: f64) -> Json {
    Json::obj(vec![("sku", Json::str(sku)), ("name", Json::str(name)), ("price", Json::Num(price))])
}

fn catalog(req: &Request) -> Response {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("GET" | "HEAD", ["healthz"]) => Response::text(200, "ok"),
        ("GET" | "HEAD", ["products"]) => Response::json(
            200,
            Json::Arr(PRODUCTS.iter().map(|(s, n, p)| product_json(s, n, *p)).collect()).to_string(),
        ),
        ("GET" | "HEAD", ["products", sku]) => {
            let sku = http::percent_decode(sku);
            match PRODUCTS.iter().find(|(s, _, _)| *s == sku) {
                Some((s, n, p)) => Response::json(200, product_json(s, n, *p).to_string()),
                None => Response::json(
                    404,
                    Json::obj(vec![("error", Json::str(format!("no product {sku}"))), ("sku", Json::str(sku))])
                        .to_string(),
                ),
            }
        }
        _ => json_error(404, format!("no route for {} {}", req.method, req.path)),
    }
}

// ------------------------------------------------------------------ fixture

fn fixture(req: &Request) -> Response {
    let path = req.path.as_str();
    let get = req.method == "GET" || req.method == "HEAD";
    if path.starts_with("/echo") {
        return echo(req);
    }
    match path {
        "/healthz" if get => {
            if std::env::var("FAIL_HEALTH").map(|v| v == "1").unwrap_or(false) {
                Response::text(500, "failing")
            } else {
                Response::text(200, "ok")
            }
        }
        "/env" if get => {
            let mut vars: Vec<(String, String)> = std::env::vars().collect();
            vars.sort();
            Response::json(200, Json::Obj(vars.into_iter().map(|(k, v)| (k, Json::Str(v))).collect()).to_string())
        }
        "/call" if get => call(req),
        "/bytes" if get => {
            let n = match req.query_param("n").map(|v| v.parse::<u64>()) {
                None => 1024,
                Some(Ok(n)) if n <= 1 << 30 => n,
                _ => return json_error(400, "n must be a number of bytes up to 1 GiB"),
            };
            Response {
                status: 200,
                headers: vec![("content-type".into(), "application/octet-stream".into())],
                body: http::Body::Pattern(n),
            }
        }
        "/slow" if get => {
            let ms = match req.query_param("ms").map(|v| v.parse::<u64>()) {
                None => 1000,
                Some(Ok(ms)) if ms <= 600_000 => ms,
                _ => return json_error(400, "ms must be a number of milliseconds up to 600000"),
            };
            thread::sleep(Duration::from_millis(ms));
            Response::text(200, format!("slept {ms} ms"))
        }
        _ if path.starts_with("/status/") => match path["/status/".len()..].parse::<u16>() {
            Ok(code) if (200..=599).contains(&code) => {
                Response::json(code, Json::obj(vec![("status", Json::Num(code as f64))]).to_string())
            }
            _ => json_error(400, "the status must be a number from 200 to 599"),
        },
        "/healthz" | "/env" | "/call" | "/bytes" | "/slow" => json_error(405, "method not allowed"),
        _ => json_error(404, format!("no route for {} {}", req.method, req.path)),
    }
}

fn echo(req: &Request) -> Response {
    let mut headers: Vec<(String, Json)> = Vec::new();
    for (k, v) in &req.headers {
        match headers.iter_mut().find(|(name, _)| name == k) {
            Some((_, Json::Str(existing))) => {
                existing.push_str(", ");
                existing.push_str(v);
            }
            _ => headers.push((k.clone(), Json::Str(v.clone()))),
        }
    }
    let query = Json::Obj(req.query_pairs().into_iter().map(|(k, v)| (k, Json::Str(v))).collect());
    Response::json(
        200,
        Json::obj(vec![
            ("method", Json::str(req.method.clone())),
            ("path", Json::str(req.path.clone())),
            ("query", query),
            ("headers", Json::Obj(headers)),
            ("body", Json::Str(String::from_utf8_lossy(&req.body).into_owned())),
        ])
        .to_string(),
    )
}

fn call(req: &Request) -> Response {
    let Some(url) = req.query_param("url") else {
        return json_error(400, "usage: /call?url=<percent-encoded URL>");
    };
    let timeout = req.query_param("timeout_ms").and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let client = Client {
        connect_timeout: Duration::from_millis(timeout.min(3000)),
        timeout: Duration::from_millis(timeout),
    };
    match client.get(&url, &trace_headers(req)) {
        Ok(r) => {
            let headers = Json::Obj(r.headers.iter().map(|(k, v)| (k.clone(), Json::Str(v.clone()))).collect());
            Response::json(
                200,
                Json::obj(vec![
                    ("status", Json::Num(r.status as f64)),
                    ("body", Json::Str(r.text())),
                    ("headers", headers),
                ])
                .to_string(),
            )
        }
        Err(e) => json_error(502, e),
    }
}

// ------------------------------------------------------------------- static

/// A file of `dir`, read on every request (so a file changed in a running
/// container is served changed); `..` never leaves `dir`.
fn serve_file(dir: &str, req: &Request) -> Response {
    if req.method != "GET" && req.method != "HEAD" {
        return json_error(405, "method not allowed");
    }
    if req.path == "/healthz" {
        return Response::text(200, "ok");
    }
    let relative = http::percent_decode(req.path.trim_start_matches('/'));
    if relative.split('/').any(|part| part == "..") {
        return json_error(400, "the path may not contain `..`");
    }
    let path = std::path::Path::new(dir).join(if relative.is_empty() { "index.html" } else { &relative });
    match std::fs::read(&path) {
        Ok(bytes) => Response::new(200, "text/plain; charset=utf-8", bytes),
        Err(e) => json_error(404, format!("{}: {e}", path.display())),
    }
}

// ----------------------------------------------------------- tcp-echo, probe

fn tcp_echo(port: u16) -> std::io::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", port))?;
    println!("listening on :{}", listener.local_addr()?.port());
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        thread::spawn(move || {
            let Ok(mut writer) = stream.try_clone() else { return };
            let mut reader = BufReader::new(stream);
            loop {
                let n = match reader.fill_buf() {
                    Ok([]) | Err(_) => break,
                    Ok(buf) => {
                        if writer.write_all(buf).is_err() {
                            break;
                        }
                        buf.len()
                    }
                };
                reader.consume(n);
            }
            let _ = writer.shutdown(std::net::Shutdown::Write);
        });
    }
    Ok(())
}

fn probe(url: &str) -> ExitCode {
    let client = Client {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(3),
    };
    match client.get(url, &[]) {
        Ok(r) if r.ok() => ExitCode::SUCCESS,
        Ok(r) => {
            eprintln!("probe {url}: status {}", r.status);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("probe {url}: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        let a = |v: &[&str]| port_arg(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(a(&[]), Ok(8080));
        assert_eq!(a(&["--port", "9"]), Ok(9));
        assert_eq!(a(&["--port=10"]), Ok(10));
        assert!(a(&["--port"]).is_err());
        assert!(a(&["--port", "x"]).is_err());
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("A1"), "A1");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn catalog_answers() {
        let req = |p: &str| Request {
            method: "GET".into(),
            path: p.into(),
            query: String::new(),
            version: "HTTP/1.1".into(),
            headers: vec![],
            body: vec![],
        };
        let r = catalog(&req("/products/B2"));
        assert_eq!(r.status, 200);
        assert_eq!(catalog(&req("/products/Z9")).status, 404);
        assert_eq!(fixture(&req("/status/418")).status, 418);
        assert_eq!(fixture(&req("/nope")).status, 404);
        let dir = std::env::temp_dir().join(format!("shopd-static-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), "v1").unwrap();
        let dir_text = dir.to_string_lossy().into_owned();
        let r = serve_file(&dir_text, &req("/a.txt"));
        assert!(r.status == 200 && matches!(&r.body, http::Body::Bytes(b) if b == b"v1"));
        assert_eq!(serve_file(&dir_text, &req("/../etc/passwd")).status, 400);
        assert_eq!(serve_file(&dir_text, &req("/missing")).status, 404);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
