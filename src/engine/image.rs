//! Images: present locally, pulled when missing (where a registry is
//! reachable), built from a context, or imported from a binary (the agent
//! image and test fixtures), without ever needing a registry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateImageOptionsBuilder, ListImagesOptionsBuilder,
    RemoveImageOptionsBuilder,
};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::{Engine, EngineError, EngineResult};

/// Why a build failed: the step that failed and the engine's message.
#[derive(Debug, Clone)]
pub struct BuildFailure {
    pub step: Option<String>,
    pub message: String,
}

impl Engine {
    pub async fn image_exists(&self, reference: &str) -> EngineResult<bool> {
        let inspected = self.docker().inspect_image(reference).await;
        Ok(super::present(inspected, format!("inspect image {reference}"))?.is_some())
    }

    /// The image's id, for hashing what a container was created from.
    pub async fn image_id(&self, reference: &str) -> EngineResult<String> {
        let inspect = self
            .docker()
            .inspect_image(reference)
            .await
            .map_err(|e| EngineError::from_bollard(format!("inspect image {reference}"), e))?;
        Ok(inspect.id.unwrap_or_default())
    }

    /// Makes sure `reference` is present, pulling it when it is not; calls
    /// `progress` with pull status lines.
    pub async fn ensure_image(
        &self,
        reference: &str,
        mut progress: impl FnMut(&str),
    ) -> EngineResult<()> {
        if self.image_exists(reference).await? {
            return Ok(());
        }
        let (name, tag) = split_reference(reference);
        let options = CreateImageOptionsBuilder::default()
            .from_image(name)
            .tag(tag)
            .build();
        let mut stream = Box::pin(self.docker().create_image(Some(options), None, None));
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail.and_then(|d| d.message) {
                        return Err(pull_failed(reference, &detail));
                    }
                    if let Some(status) = info.status {
                        progress(&status);
                    }
                }
                Err(e) => return Err(pull_failed(reference, &super::short_reason(&e))),
            }
        }
        Ok(())
    }

    /// Builds `context` (honouring `.dockerignore`) into `tag`. The tag is
    /// expected to carry the context's hash (see [`context_tar`]), so an
    /// existing tag means nothing changed and the build is skipped.
    ///
    /// Through the engine's BuildKit where it can (see `buildkit`): the
    /// classic builder commits a container for every instruction, which
    /// makes a rebuild (`up --watch`) about three times slower. An engine
    /// that refuses BuildKit, or that is not reached over a socket or
    /// plain TCP, gets the classic builder, then and from then on.
    pub async fn build_image(
        &self,
        tar: Vec<u8>,
        dockerfile: &str,
        args: &HashMap<String, String>,
        tag: &str,
        labels: &HashMap<String, String>,
        mut progress: impl FnMut(&str),
    ) -> Result<(), BuildFailure> {
        use std::sync::atomic::{AtomicBool, Ordering};
        static CLASSIC: AtomicBool = AtomicBool::new(false);
        if !CLASSIC.load(Ordering::Relaxed) {
            let request = super::buildkit::Request {
                endpoint: self.endpoint(),
                api: self.docker().client_version().to_string(),
                tar: tar.clone(),
                dockerfile,
                args,
                tag,
                labels,
            };
            match super::buildkit::build(request, &mut progress).await {
                super::buildkit::Built::Done => return Ok(()),
                super::buildkit::Built::Failed(failure) => return Err(failure),
                super::buildkit::Built::Unsupported(reason) => {
                    progress(&format!(
                        "BuildKit unavailable ({reason}): the classic builder"
                    ));
                    CLASSIC.store(true, Ordering::Relaxed);
                }
            }
        }
        self.build_classic(tar, dockerfile, args, tag, labels, progress)
            .await
    }

    /// [`Engine::build_image`] with the classic builder.
    async fn build_classic(
        &self,
        tar: Vec<u8>,
        dockerfile: &str,
        args: &HashMap<String, String>,
        tag: &str,
        labels: &HashMap<String, String>,
        mut progress: impl FnMut(&str),
    ) -> Result<(), BuildFailure> {
        let options = BuildImageOptionsBuilder::default()
            .dockerfile(dockerfile)
            .t(tag)
            .rm(true)
            .forcerm(true)
            .buildargs(args)
            .labels(labels)
            .build();
        let mut stream = Box::pin(self.docker().build_image(
            options,
            None,
            Some(bollard::body_full(tar.into())),
        ));
        let mut step = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail {
                        return Err(BuildFailure {
                            step,
                            message: detail.message.unwrap_or_default().trim().to_owned(),
                        });
                    }
                    if let Some(text) = info.stream {
                        let text = text.trim();
                        if text.starts_with("Step ") {
                            step = Some(text.to_owned());
                        }
                        if !text.is_empty() {
                            progress(text);
                        }
                    }
                }
                Err(e) => {
                    return Err(BuildFailure {
                        step,
                        message: super::short_reason(&e),
                    });
                }
            }
        }
        Ok(())
    }

    /// Imports a root filesystem tar as an image with `changes` such as
    /// `ENTRYPOINT ["/sandbox"]` and `LABEL k=v`.
    pub async fn import_image(
        &self,
        tar: Vec<u8>,
        tag: &str,
        changes: &[String],
    ) -> EngineResult<()> {
        let (repo, version) = split_reference(tag);
        let options = CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(repo)
            .tag(version)
            .changes(changes.to_vec())
            .build();
        let mut stream = Box::pin(self.docker().create_image(
            Some(options),
            Some(bollard::body_full(tar.into())),
            None,
        ));
        while let Some(item) = stream.next().await {
            let info =
                item.map_err(|e| EngineError::from_bollard(format!("import image {tag}"), e))?;
            if let Some(message) = info.error_detail.and_then(|d| d.message) {
                return Err(EngineError::Operation {
                    operation: format!("import image {tag}"),
                    message,
                });
            }
        }
        Ok(())
    }

    /// Images carrying `label`, as (id, tags).
    pub async fn images_with_label(&self, label: &str) -> EngineResult<Vec<(String, Vec<String>)>> {
        let options = ListImagesOptionsBuilder::default()
            .all(true)
            .filters(&HashMap::from([("label", vec![label])]))
            .build();
        let images = self
            .docker()
            .list_images(Some(options))
            .await
            .map_err(|e| EngineError::from_bollard("list images", e))?;
        Ok(images.into_iter().map(|i| (i.id, i.repo_tags)).collect())
    }

    /// Removes an image; absent or in use is not an error (returns false).
    pub async fn remove_image(&self, id: &str) -> EngineResult<bool> {
        let options = RemoveImageOptionsBuilder::default().force(false).build();
        let removed = self.docker().remove_image(id, Some(options), None).await;
        match super::present(removed, format!("remove image {id}")) {
            // In use by a container.
            Err(EngineError::Conflict { .. }) => Ok(false),
            other => other.map(|r| r.is_some()),
        }
    }
}

fn pull_failed(reference: &str, reason: &str) -> EngineError {
    EngineError::Operation {
        operation: format!("pull image {reference}"),
        message: format!(
            "{reason}; the image is not present locally and no registry could provide it: build it locally (`docker build -t {reference} ...`) or use `build:` in the manifest"
        ),
    }
}

/// Splits `name:tag` (a registry port is not a tag).
pub fn split_reference(reference: &str) -> (&str, &str) {
    match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (reference, "latest"),
    }
}

/// Packs a build context into a tar, leaving out what `.dockerignore` names
/// (the Dockerfile and `.dockerignore` themselves are always sent), and
/// returns it with a hash of its contents.
pub fn context_tar(context: &Path, dockerfile: &str) -> std::io::Result<(Vec<u8>, String)> {
    let filter = ContextFilter::new(context, dockerfile)?;
    let mut files: Vec<PathBuf> = Vec::new();
    collect(context, context, &filter, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    let mut archive = tar::Builder::new(Vec::new());
    archive.follow_symlinks(false);
    for relative in &files {
        let full = context.join(relative);
        let metadata = std::fs::symlink_metadata(&full)?;
        let mut header = tar::Header::new_gnu();
        header.set_metadata(&metadata);
        // A fixed mtime keeps the hash a function of the contents only.
        header.set_mtime(0);
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update(format!("{:o}", metadata.permissions().mode_bits()).as_bytes());
        if metadata.is_file() {
            let data = std::fs::read(&full)?;
            hasher.update(&data);
            header.set_size(data.len() as u64);
            header.set_cksum();
            archive.append_data(&mut header, relative, data.as_slice())?;
        } else if metadata.file_type().is_symlink() {
            let target = std::fs::read_link(&full)?;
            hasher.update(target.to_string_lossy().as_bytes());
            archive.append_link(&mut header, relative, &target)?;
        } else if metadata.is_dir() {
            header.set_size(0);
            header.set_cksum();
            archive.append_data(&mut header, relative, std::io::empty())?;
        }
    }
    let tar = archive.into_inner()?;
    Ok((tar, hex(&hasher.finalize())))
}

trait ModeBits {
    fn mode_bits(&self) -> u32;
}

impl ModeBits for std::fs::Permissions {
    fn mode_bits(&self) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        self.mode()
    }
}

/// What of a build context is sent to the engine: everything but what
/// `.dockerignore` names, and always the Dockerfile and `.dockerignore`
/// themselves. `sandbox up --watch` asks it too, so a change to a file the
/// build never sees rebuilds nothing.
#[derive(Debug)]
pub struct ContextFilter {
    ignore: ignore::gitignore::Gitignore,
    dockerfile: PathBuf,
}

impl ContextFilter {
    /// Reads `context`'s `.dockerignore`, if it has one.
    pub fn new(context: &Path, dockerfile: &str) -> std::io::Result<ContextFilter> {
        Ok(ContextFilter {
            ignore: dockerignore(context)?,
            dockerfile: PathBuf::from(dockerfile),
        })
    }

    /// Whether the file or folder at `relative` (to the context) is sent.
    pub fn sends(&self, relative: &Path, is_dir: bool) -> bool {
        relative == self.dockerfile
            || relative == Path::new(".dockerignore")
            || !self
                .ignore
                .matched_path_or_any_parents(relative, is_dir)
                .is_ignore()
    }
}

fn dockerignore(context: &Path) -> std::io::Result<ignore::gitignore::Gitignore> {
    let mut builder = ignore::gitignore::GitignoreBuilder::new(context);
    let path = context.join(".dockerignore");
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // .dockerignore patterns are anchored at the context root.
            let anchored = match line.strip_prefix('!') {
                Some(rest) => format!("!/{}", rest.trim_start_matches('/')),
                None => format!("/{}", line.trim_start_matches('/')),
            };
            builder.add_line(None, &anchored).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?;
        }
    }
    builder
        .build()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}

fn collect(
    root: &Path,
    dir: &Path,
    filter: &ContextFilter,
    files: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        let file_type = entry.file_type()?;
        if !filter.sends(&relative, file_type.is_dir()) {
            continue;
        }
        files.push(relative);
        if file_type.is_dir() {
            collect(root, &path, filter, files)?;
        }
    }
    Ok(())
}

/// Packs a dynamically linked binary and the shared libraries `ldd` lists
/// into a root filesystem tar, the binary at `/<name>`; returns the tar and
/// the hash of the binary.
pub fn binary_rootfs(
    binary: &Path,
    name: &str,
    dirs: &[&str],
) -> std::io::Result<(Vec<u8>, String)> {
    let data = std::fs::read(binary)?;
    let hash = hex(&Sha256::digest(&data));
    let mut archive = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    archive.append_data(&mut header, name, data.as_slice())?;
    for library in shared_libraries(binary)? {
        let bytes = std::fs::read(&library)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o755);
        header.set_cksum();
        let inside = library.strip_prefix("/").unwrap_or(&library);
        archive.append_data(&mut header, inside, bytes.as_slice())?;
    }
    // /tmp for programs that write temporary files, and the folders asked for.
    for dir in std::iter::once("tmp").chain(dirs.iter().copied()) {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_mode(0o1777);
        header.set_size(0);
        header.set_cksum();
        archive.append_data(&mut header, dir, std::io::empty())?;
    }
    Ok((archive.into_inner()?, hash))
}

/// The shared libraries a binary loads, as `ldd` resolves them (none for a
/// static binary).
fn shared_libraries(binary: &Path) -> std::io::Result<Vec<PathBuf>> {
    let output = std::process::Command::new("ldd").arg(binary).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let mut libraries = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next().unwrap_or(""),
            None => line.split_whitespace().next().unwrap_or(""),
        };
        if path.starts_with('/') {
            // Keep the path the loader asks for, reading through symlinks.
            libraries.push(PathBuf::from(path));
        }
    }
    Ok(libraries)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(tar: &[u8]) -> Vec<String> {
        let mut archive = tar::Archive::new(tar);
        let mut names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn build_contexts_honour_dockerignore_and_hash_contents_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("Dockerfile"), "FROM scratch\nCOPY app /app\n").unwrap();
        std::fs::write(
            root.join(".dockerignore"),
            "secrets\n*.log\n!keep.log\nDockerfile\n",
        )
        .unwrap();
        std::fs::write(root.join("app"), "binary").unwrap();
        std::fs::write(root.join("debug.log"), "noise").unwrap();
        std::fs::write(root.join("keep.log"), "kept").unwrap();
        std::fs::create_dir(root.join("secrets")).unwrap();
        std::fs::write(root.join("secrets/key"), "k").unwrap();

        let (tar, hash) = context_tar(root, "Dockerfile").unwrap();
        assert_eq!(
            names(&tar),
            [".dockerignore", "Dockerfile", "app", "keep.log"]
        );

        // Touching a file changes nothing; changing its contents changes the hash.
        std::fs::write(root.join("app"), "binary").unwrap();
        assert_eq!(context_tar(root, "Dockerfile").unwrap().1, hash);
        std::fs::write(root.join("app"), "binary v2").unwrap();
        assert_ne!(context_tar(root, "Dockerfile").unwrap().1, hash);
        // Ignored files do not count.
        std::fs::write(root.join("debug.log"), "more noise").unwrap();
        let again = context_tar(root, "Dockerfile").unwrap().1;
        std::fs::write(root.join("debug.log"), "other noise").unwrap();
        assert_eq!(context_tar(root, "Dockerfile").unwrap().1, again);
    }

    #[test]
    fn references_split_into_name_and_tag() {
        assert_eq!(split_reference("postgres:16"), ("postgres", "16"));
        assert_eq!(split_reference("postgres"), ("postgres", "latest"));
        assert_eq!(
            split_reference("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
        assert_eq!(
            split_reference("localhost:5000/app:1"),
            ("localhost:5000/app", "1")
        );
    }
}
