//! The typed view of a validated manifest's entries: what each entry is (a
//! container, a stub, a replay or a recording) as an enum, made once by the
//! validation pass, so that nothing downstream re-reads the serde model's
//! optional kind keys or falls back to a kind.

use indexmap::IndexMap;

use super::model::{
    Api, Build, Check, Debug, Dependency, EnvValue, Faults, Health, Host, Kind, Limits, Ports,
    Protocol, Record, ReplayTiming, Service, Stub, WatchRule,
};

/// Every entry of a validated manifest, with its kind made explicit.
#[derive(Debug, Clone, PartialEq)]
pub struct Entries {
    pub service: ServiceEntry,
    /// In the manifest's order.
    pub dependencies: IndexMap<String, DependencyEntry>,
}

/// The service under work: always a container of its own.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceEntry {
    pub name: String,
    /// The service's own `owner:` (the manifest's is not filled in).
    pub owner: Option<String>,
    pub container: ContainerSource,
    pub api: Option<Api>,
    pub limits: Option<Limits>,
    pub faults: Option<Faults>,
}

/// A dependency: its source and the settings every kind may have.
#[derive(Debug, Clone, PartialEq)]
pub struct DependencyEntry {
    pub source: Source,
    /// The dependency's own `owner:` (the manifest's is not filled in).
    pub owner: Option<String>,
    pub api: Option<Api>,
    pub limits: Option<Limits>,
    pub faults: Option<Faults>,
}

/// What answers for a dependency.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A real container of its own (boxed: it is the largest by far).
    Container(Box<ContainerSource>),
    /// Canned answers served by the agent (the routes of its `files` are in
    /// [`super::Loaded::stub_routes`]).
    Stub(Stub),
    /// A recording answered from by the agent (read into
    /// [`super::Loaded::recordings`]).
    Replay(ReplaySource),
    /// A proxy in the agent that records every call to a real upstream.
    Record(Record),
}

/// A replay dependency.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaySource {
    /// The recording file, as the manifest names it.
    pub file: String,
    /// Whether answers keep their recorded pace.
    pub timing: ReplayTiming,
}

/// A real container: the service's or a dependency's.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSource {
    pub image: ImageRef,
    /// Overrides the image's command.
    pub command: Option<Vec<String>>,
    pub env: IndexMap<String, EnvValue>,
    /// Port name -> container port, with declared protocols.
    pub ports: Ports,
    /// Port name -> what it speaks, declared or by the defaults of
    /// PRODUCT.md section 6.3.
    pub protocols: IndexMap<String, Protocol>,
    pub health: Option<Health>,
    pub debug: Option<Debug>,
    /// How it runs on this machine with `up --host`.
    pub host: Option<Host>,
    /// `up --watch` rules.
    pub watch: Vec<WatchRule>,
}

/// Where a real container's image comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageRef {
    /// Built from a context with a Dockerfile inside.
    Build(Build),
    /// An image reference.
    Image(String),
}

impl Source {
    /// The kind the registry and `status` show.
    pub fn kind(&self) -> Kind {
        match self {
            Source::Container(container) => container.kind(),
            Source::Stub(_) => Kind::Stub,
            Source::Replay(_) => Kind::Replay,
            Source::Record(_) => Kind::Record,
        }
    }

    /// The container, when the dependency runs one of its own.
    pub fn container(&self) -> Option<&ContainerSource> {
        match self {
            Source::Container(container) => Some(container),
            _ => None,
        }
    }
}

impl ContainerSource {
    /// `build` or `image`.
    pub fn kind(&self) -> Kind {
        match self.image {
            ImageRef::Build(_) => Kind::Build,
            ImageRef::Image(_) => Kind::Image,
        }
    }
}

/// Why an entry has no typed view: the kind keys it has, when not exactly
/// one. Validation reports this before the view is made; meeting it after
/// means the walk missed a case, and it is reported as a problem then too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotOneKind(pub Vec<Kind>);

impl ImageRef {
    fn new(build: Option<Build>, image: Option<String>) -> Result<ImageRef, NotOneKind> {
        match (build, image) {
            (Some(build), None) => Ok(ImageRef::Build(build)),
            (None, Some(image)) => Ok(ImageRef::Image(image)),
            (None, None) => Err(NotOneKind(Vec::new())),
            (Some(_), Some(_)) => Err(NotOneKind(vec![Kind::Build, Kind::Image])),
        }
    }
}

/// Each port's protocol: the declared one, else `http` for a port named
/// `http`, `web` or `api` or called by an `http` health check or a check,
/// `grpc` for one named `grpc`, `tcp` for any other.
pub fn protocols(
    ports: &Ports,
    health: Option<&Health>,
    checks: &[Check],
) -> IndexMap<String, Protocol> {
    let first = ports.keys().next();
    let names = |port: Option<&String>, name: &String| match port {
        Some(port) => port == name,
        None => first == Some(name),
    };
    ports
        .keys()
        .map(|name| {
            let protocol = ports.declared(name).unwrap_or_else(|| {
                let by_health =
                    health.is_some_and(|h| h.http.is_some() && names(h.port.as_ref(), name));
                let by_check = checks
                    .iter()
                    .any(|check| names(check.request.port.as_ref(), name));
                Protocol::by_name(name, by_health || by_check)
            });
            (name.clone(), protocol)
        })
        .collect()
}

impl ServiceEntry {
    pub(crate) fn new(service: &Service) -> Result<ServiceEntry, NotOneKind> {
        let service = service.clone();
        Ok(ServiceEntry {
            name: service.name,
            owner: service.owner,
            container: ContainerSource {
                image: ImageRef::new(service.build, service.image)?,
                command: service.command,
                env: service.env,
                protocols: protocols(&service.ports, service.health.as_ref(), &service.checks),
                ports: service.ports,
                health: service.health,
                debug: service.debug,
                host: service.host,
                watch: service.watch,
            },
            api: service.api,
            limits: service.limits,
            faults: service.faults,
        })
    }
}

impl DependencyEntry {
    pub(crate) fn new(dependency: &Dependency) -> Result<DependencyEntry, NotOneKind> {
        let kinds = dependency.kinds();
        let dependency = dependency.clone();
        let source = match (
            dependency.stub,
            dependency.replay,
            dependency.record,
            dependency.build,
            dependency.image,
        ) {
            (Some(stub), None, None, None, None) => Source::Stub(stub),
            (None, Some(replay), None, None, None) => Source::Replay(ReplaySource {
                file: replay.file,
                timing: replay.timing,
            }),
            (None, None, Some(record), None, None) => Source::Record(record),
            (None, None, None, build, image) => Source::Container(Box::new(ContainerSource {
                image: ImageRef::new(build, image).map_err(|_| NotOneKind(kinds))?,
                command: dependency.command,
                env: dependency.env,
                protocols: protocols(
                    &dependency.ports,
                    dependency.health.as_ref(),
                    &dependency.checks,
                ),
                ports: dependency.ports,
                health: dependency.health,
                debug: dependency.debug,
                host: dependency.host,
                watch: dependency.watch,
            })),
            _ => return Err(NotOneKind(kinds)),
        };
        Ok(DependencyEntry {
            source,
            owner: dependency.owner,
            api: dependency.api,
            limits: dependency.limits,
            faults: dependency.faults,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dependency(yaml: &str) -> Result<DependencyEntry, NotOneKind> {
        DependencyEntry::new(&serde_yaml::from_str::<Dependency>(yaml).unwrap())
    }

    #[test]
    fn a_dependency_is_exactly_the_kind_its_key_names() {
        let stub = dependency("stub: { port: 8081 }").unwrap().source;
        assert!(matches!(&stub, Source::Stub(Stub { port: 8081, .. })));
        let replay = dependency("replay: r.yaml").unwrap().source;
        assert_eq!(
            replay,
            Source::Replay(ReplaySource {
                file: "r.yaml".into(),
                timing: ReplayTiming::None,
            })
        );
        let paced = dependency("replay: { file: r.yaml, timing: recorded }")
            .unwrap()
            .source;
        assert_eq!(
            paced,
            Source::Replay(ReplaySource {
                file: "r.yaml".into(),
                timing: ReplayTiming::Recorded,
            })
        );
        let record = dependency("record: { upstream: 'http://x', to: r.yaml, port: 81 }")
            .unwrap()
            .source;
        assert_eq!(record.kind(), Kind::Record);
        let image = dependency("image: pg:16\nports: { pg: 5432 }")
            .unwrap()
            .source;
        assert_eq!(image.kind(), Kind::Image);
        assert_eq!(image.container().map(|c| c.ports["pg"]), Some(5432));
        let build = dependency("build: ./db").unwrap().source;
        assert_eq!(build.kind(), Kind::Build);
        assert!(matches!(
            build.container().map(|c| &c.image),
            Some(ImageRef::Build(Build { context, .. })) if context == "./db"
        ));
    }

    #[test]
    fn no_kind_or_two_kinds_make_no_typed_view() {
        assert_eq!(dependency("owner: x"), Err(NotOneKind(Vec::new())));
        assert_eq!(
            dependency("stub: {}\nimage: x"),
            Err(NotOneKind(vec![Kind::Stub, Kind::Image]))
        );
        assert_eq!(
            dependency("image: x\nbuild: ./x"),
            Err(NotOneKind(vec![Kind::Image, Kind::Build]))
        );
        let service = |yaml: &str| ServiceEntry::new(&serde_yaml::from_str(yaml).unwrap());
        assert_eq!(service("name: a"), Err(NotOneKind(Vec::new())));
        assert_eq!(
            service("name: a\nimage: x\nbuild: ./x"),
            Err(NotOneKind(vec![Kind::Build, Kind::Image]))
        );
        let ok = service("name: a\nimage: x").unwrap();
        assert_eq!(ok.container.kind(), Kind::Image);
    }
}
