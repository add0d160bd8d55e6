//! How a server's certificate is checked, as rustls `ServerCertVerifier`s built from rustls's
//! own webpki functions: the chain to a trusted CA and the host name (verify-full, and every
//! https request), the chain alone (verify-ca), or nothing (require without a CA, as libpq
//! does). The handshake's own signatures are always checked with the provider's algorithms, so
//! even an unchecked server must hold the key of the certificate it shows. A failed check comes
//! back as a `CertificateProblem` the verifiers turn into a sentence (explain.rs).
//!
//! Also the client side of mutual TLS: a resolver that hands over the client certificate and
//! records whether the server asked for one, so "the server requires a client certificate" is
//! told from the server's own request rather than guessed from its error message.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::sign::CertifiedKey;
use rustls::{
    CertificateError, DigitallySignedStruct, Error, OtherError, RootCertStore, SignatureScheme,
};

use super::explain::{Advice, CertificateProblem};

/// How much of a server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerCheck {
    /// Signed by a trusted CA, valid now, and naming the host connected to.
    ChainAndName,
    /// Signed by a trusted CA and valid now; any host name (libpq's verify-ca).
    Chain,
    /// Not checked at all (libpq's require without a root certificate).
    Nothing,
}

/// The verifier for `check` against `roots`; `advice` words a failure.
pub(crate) fn server_verifier(
    check: ServerCheck,
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
    advice: Advice,
) -> Arc<dyn ServerCertVerifier> {
    Arc::new(Verifier {
        check,
        roots,
        algorithms,
        advice,
    })
}

#[derive(Debug)]
struct Verifier {
    check: ServerCheck,
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
    advice: Advice,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        if self.check == ServerCheck::Nothing {
            // Encrypted, but to whoever answered: only where the user chose it (sslmode =
            // require without a CA), and reported as `unchecked`.
            return Ok(ServerCertVerified::assertion());
        }
        let checked = ParsedCertificate::try_from(end_entity).and_then(|cert| {
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                &self.roots,
                intermediates,
                now,
                self.algorithms.all,
            )?;
            if self.check == ServerCheck::ChainAndName {
                verify_server_name(&cert, server_name)?;
            }
            Ok(ServerCertVerified::assertion())
        });
        checked.map_err(|error| match error {
            Error::InvalidCertificate(kind) => {
                let problem = CertificateProblem::new(kind, end_entity, server_name, self.advice);
                Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(problem))))
            }
            other => other,
        })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Whether the server of one connection asked for a client certificate (a TLS
/// CertificateRequest), shared with the resolver of that connection's config.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClientCertRequest(Arc<AtomicBool>);

impl ClientCertRequest {
    pub(crate) fn was_made(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Hands over the client certificate, if the credential has one, whenever the server asks,
/// and notes that it asked.
#[derive(Debug)]
pub(crate) struct RecordingResolver {
    pub(crate) identity: Option<Arc<CertifiedKey>>,
    pub(crate) asked: ClientCertRequest,
}

impl ResolvesClientCert for RecordingResolver {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.asked.0.store(true, Ordering::SeqCst);
        self.identity.clone()
    }

    fn has_certs(&self) -> bool {
        self.identity.is_some()
    }
}
