//! Compose ports (every syntax of the specification's "ports" and
//! "expose") and the names a manifest gives them.
//!
//! A manifest names each port and takes the port inside the container; the
//! port Compose published on the host is not kept, since sandbox publishes
//! every port on 127.0.0.1 at a free port.

/// Ports that conventionally speak HTTP: such a port is named `http`, which
/// also makes it an HTTP port for the sandbox (PRODUCT.md 6.3).
pub const HTTP_PORTS: &[u16] = &[80, 3000, 4000, 5000, 8000, 8080, 8081, 8888];

/// Port names that choose a protocol (PRODUCT.md 6.3); a name derived from
/// a service must not take one of them by accident.
const PROTOCOL_NAMES: &[&str] = &["http", "web", "api", "grpc"];

/// One port as Compose wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposePort {
    /// The port inside the container, or the first and last of a range.
    pub container: (u16, u16),
    /// `tcp` unless written otherwise.
    pub protocol: String,
    /// Where Compose published it on the host, as written (`8080`,
    /// `127.0.0.1:8080`), if it did.
    pub published: Option<String>,
    /// The long syntax's `name:`.
    pub name: Option<String>,
    /// The long syntax's `app_protocol:`.
    pub app_protocol: Option<String>,
}

impl ComposePort {
    pub fn single(&self) -> Option<u16> {
        (self.container.0 == self.container.1).then_some(self.container.0)
    }
}

/// Reads the short syntax: `[HOST_IP:][HOST_PORTS:]CONTAINER_PORTS[/PROTOCOL]`,
/// where ports may be ranges (`8000-8010`) and an IPv6 host is bracketed.
pub fn parse_short(text: &str) -> Result<ComposePort, String> {
    let text = text.trim();
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((spec, protocol)) => (spec, protocol.to_ascii_lowercase()),
        None => (text, "tcp".to_owned()),
    };
    let (host_ip, rest) = if let Some(bracketed) = spec.strip_prefix('[') {
        let (ip, rest) = bracketed
            .split_once("]:")
            .ok_or_else(|| format!("`{text}` opens `[` for an IPv6 address without `]:`"))?;
        (Some(format!("[{ip}]")), rest)
    } else {
        (None, spec)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, published, container) = match (host_ip, parts.as_slice()) {
        (None, [container]) => (None, None, *container),
        (None, [published, container]) => (None, Some(*published), *container),
        (None, [ip, published, container]) => {
            (Some((*ip).to_owned()), Some(*published), *container)
        }
        (Some(ip), [published, container]) => (Some(ip), Some(*published), *container),
        _ => {
            return Err(format!(
                "`{text}` is not a port; write `CONTAINER`, `HOST:CONTAINER` or `IP:HOST:CONTAINER`"
            ));
        }
    };
    let container = range(container).ok_or_else(|| {
        format!("`{text}` has `{container}` as its container port; expected a number from 1 to 65535 or a range such as `8000-8010`")
    })?;
    let published = published.filter(|p| !p.is_empty()).map(|p| match &ip {
        Some(ip) if !ip.is_empty() => format!("{ip}:{p}"),
        _ => p.to_owned(),
    });
    Ok(ComposePort {
        container,
        protocol,
        published,
        name: None,
        app_protocol: None,
    })
}

fn range(text: &str) -> Option<(u16, u16)> {
    let number = |t: &str| t.trim().parse::<u16>().ok().filter(|p| *p > 0);
    match text.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (number(a)?, number(b)?);
            (a <= b).then_some((a, b))
        }
        None => number(text).map(|p| (p, p)),
    }
}

/// Names ports of one entry, unique within it.
#[derive(Debug, Default)]
pub struct Namer {
    taken: Vec<String>,
}

impl Namer {
    /// A name for `port` of the entry `entry`: `wanted` when given and free;
    /// `http` for a conventional HTTP port (or `http` app protocol) while
    /// free; else the entry's name for its first other port; else
    /// `p<port>`.
    pub fn name(&mut self, port: u16, entry: &str, wanted: Option<&str>, http: bool) -> String {
        let free = |name: &str, taken: &[String]| !taken.iter().any(|t| t == name);
        let wanted = wanted
            .map(super::normalize)
            .filter(|w| !w.is_empty() && free(w, &self.taken));
        let http = http || HTTP_PORTS.contains(&port);
        let entry_free = !entry.is_empty() && free(entry, &self.taken);
        let name = if let Some(wanted) = wanted {
            wanted
        } else if http && free("http", &self.taken) {
            "http".to_owned()
        } else if !http && entry_free && !PROTOCOL_NAMES.contains(&entry) {
            entry.to_owned()
        } else {
            let mut name = format!("p{port}");
            let mut n = 2;
            while !free(&name, &self.taken) {
                name = format!("p{port}-{n}");
                n += 1;
            }
            name
        };
        self.taken.push(name.clone());
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(text: &str) -> ComposePort {
        parse_short(text).unwrap()
    }

    #[test]
    fn every_short_syntax_reads() {
        assert_eq!(port("3000").container, (3000, 3000));
        assert_eq!(port("3000").published, None);
        assert_eq!(port("8080:80").container, (80, 80));
        assert_eq!(port("8080:80").published.as_deref(), Some("8080"));
        let local = port("127.0.0.1:8001:8001");
        assert_eq!(local.published.as_deref(), Some("127.0.0.1:8001"));
        assert_eq!(local.protocol, "tcp");
        let v6 = port("[::1]:6001:6001");
        assert_eq!(
            (v6.container.0, v6.published.as_deref()),
            (6001, Some("[::1]:6001"))
        );
        let udp = port("6060:6060/udp");
        assert_eq!((udp.container.0, udp.protocol.as_str()), (6060, "udp"));
        assert_eq!(port("8000:8000/tcp").protocol, "tcp");
        assert_eq!(port("9090-9091:8080-8081").container, (8080, 8081));
        assert_eq!(port("3000-3005").single(), None);
        assert_eq!(
            port("127.0.0.1:5000-5010:5000-5010").container,
            (5000, 5010)
        );
        // An interpolated host port that was blank.
        assert_eq!(port(":8000/tcp").published, None);
        assert_eq!(port("0.0.0.0::80").published, None);
    }

    #[test]
    fn broken_ports_say_what_is_expected() {
        for text in ["http", "0", "70000", "1:2:3:4", "80-70", "[::1:80"] {
            assert!(parse_short(text).is_err(), "{text}");
        }
    }

    #[test]
    fn names_are_conventional_and_unique() {
        let mut namer = Namer::default();
        assert_eq!(namer.name(8080, "web", None, false), "http");
        assert_eq!(namer.name(80, "web", None, false), "p80");
        assert_eq!(namer.name(9229, "web", None, false), "p9229");
        let mut namer = Namer::default();
        assert_eq!(namer.name(5432, "db", None, false), "db");
        assert_eq!(namer.name(5433, "db", None, false), "p5433");
        assert_eq!(namer.name(9000, "minio", None, true), "http");
        assert_eq!(namer.name(9001, "minio", Some("Console"), false), "console");
        // A wanted name that is taken falls back like any other port.
        assert_eq!(namer.name(9002, "minio", Some("console"), false), "minio");
        assert_eq!(namer.name(9003, "minio", None, false), "p9003");
        assert_eq!(namer.taken.len(), 6);
        let mut namer = Namer::default();
        assert_eq!(namer.name(6379, "api", None, false), "p6379");
    }
}
