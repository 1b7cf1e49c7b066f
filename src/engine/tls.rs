//! `tcp://` engines over TLS, spoken to as the docker CLI speaks to them:
//!
//! - the engine's certificate is checked against `ca.pem` when the folder
//!   has one, else against the system's roots;
//! - `cert.pem` and `key.pem` are the client's certificate when the folder
//!   has both (an engine run with `--tlsverify` asks for one);
//! - the check is skipped only when asked (a context's `SkipTLSVerify`, or
//!   `DOCKER_TLS` without `DOCKER_TLS_VERIFY`), and then only the chain is
//!   skipped: the handshake's signatures are still checked, as Go's
//!   `InsecureSkipVerify` does.
//!
//! Connections are kept for reuse (bollard's own TLS client opens one, and
//! so makes one handshake, per request).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::select::Tls;

/// How long an idle engine connection is kept for reuse.
const IDLE_CONNECTION: Duration = Duration::from_secs(30);

fn invalid(path: &Path, what: &str, reason: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("{} ({what}): {reason}", path.display()),
    )
}

/// The TLS settings of a connection to an engine with the files of `tls`.
pub fn client_config(tls: &Tls) -> std::io::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?;
    let builder = if tls.skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainNotChecked(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        if tls.ca.is_file() {
            let certificates = CertificateDer::pem_file_iter(&tls.ca)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| invalid(&tls.ca, "the engine's CA", e))?;
            if certificates.is_empty() {
                return Err(invalid(&tls.ca, "the engine's CA", "no certificate in it"));
            }
            for certificate in certificates {
                roots
                    .add(certificate)
                    .map_err(|e| invalid(&tls.ca, "the engine's CA", e))?;
            }
        } else {
            let native = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(native.certs);
        }
        builder.with_root_certificates(roots)
    };
    if tls.cert.is_file() && tls.key.is_file() {
        let chain = CertificateDer::pem_file_iter(&tls.cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| invalid(&tls.cert, "the client certificate", e))?;
        let key = PrivateKeyDer::from_pem_file(&tls.key)
            .map_err(|e| invalid(&tls.key, "the client key", e))?;
        builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| invalid(&tls.cert, "the client certificate", e))
    } else {
        Ok(builder.with_no_client_auth())
    }
}

/// A client of the engine at `endpoint` (`tcp://HOST:PORT` or
/// `https://...`) over TLS with the files of `tls`.
pub fn connect(endpoint: &str, tls: &Tls, timeout: u64) -> std::io::Result<bollard::Docker> {
    let config = client_config(tls)?;
    let authority = endpoint
        .strip_prefix("tcp://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .unwrap_or(endpoint)
        .trim_end_matches('/');
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .pool_idle_timeout(IDLE_CONNECTION)
        .build(connector);
    super::pooled(client, format!("https://{authority}"), timeout)
}

/// Accepts any certificate chain but still checks the handshake's
/// signatures with the certificate presented.
#[derive(Debug)]
struct ChainNotChecked(Arc<CryptoProvider>);

impl ServerCertVerifier for ChainNotChecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_not_pem_are_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), "not a certificate").unwrap();
        let tls = Tls {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            ca: dir.path().join("ca.pem"),
            skip_verify: false,
        };
        let error = client_config(&tls).unwrap_err().to_string();
        assert!(
            error.contains("ca.pem") && error.contains("the engine's CA"),
            "{error}"
        );
        // Without a CA file the system's roots are used; without client
        // files no client certificate is sent.
        std::fs::remove_file(dir.path().join("ca.pem")).unwrap();
        assert!(client_config(&tls).is_ok());
        let skipping = Tls {
            skip_verify: true,
            ..tls
        };
        assert!(client_config(&skipping).is_ok());
    }
}
