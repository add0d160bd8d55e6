//! A test CA made by the tests (rcgen, ECDSA P-256), the certificates it issues for servers and
//! clients, and an HTTPS server on loopback serving the API routes of http.rs with one of them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use tokio::net::TcpListener;
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

/// A certificate authority of the tests' own.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM: what a credential's ssl_ca or ca_cert holds.
    pub pem: String,
}

/// A certificate the CA issued, with its private key, both PEM.
#[derive(Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
}

impl TestCa {
    /// A CA whose certificate says CN=`common_name`.
    pub fn new(common_name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.distinguished_name = name(common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("CA certificate");
        TestCa {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `names` (host names and IP addresses).
    pub fn server(&self, names: &[&str]) -> Issued {
        self.issue(
            names,
            "keyway test server",
            ExtendedKeyUsagePurpose::ServerAuth,
            None,
        )
    }

    /// A server certificate for `names` that expired at the start of 2021.
    pub fn expired_server(&self, names: &[&str]) -> Issued {
        self.issue(
            names,
            "keyway test server",
            ExtendedKeyUsagePurpose::ServerAuth,
            Some(rcgen::date_time_ymd(2021, 1, 1)),
        )
    }

    /// A client certificate with CN=`common_name` (PostgreSQL's cert login maps it to the
    /// user name).
    pub fn client(&self, common_name: &str) -> Issued {
        self.issue(&[], common_name, ExtendedKeyUsagePurpose::ClientAuth, None)
    }

    fn issue(
        &self,
        names: &[&str],
        common_name: &str,
        usage: ExtendedKeyUsagePurpose,
        not_after: Option<time::OffsetDateTime>,
    ) -> Issued {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params.distinguished_name = name(common_name);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if let Some(at) = not_after {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = at;
        }
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Writes the CA certificate into `dir` and returns the file's path.
    pub fn write(&self, dir: &Path, file: &str) -> PathBuf {
        let path = dir.join(file);
        std::fs::write(&path, &self.pem).expect("write CA file");
        path
    }
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

/// The rustls server config for a certificate the test CA issued.
pub fn server_config(issued: &Issued) -> rustls::ServerConfig {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_slice_iter(issued.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("server chain");
    let key = PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).expect("server key");
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config")
}

/// The API server of http.rs (`api_server`'s routes, the key `key`) over TLS with `issued`.
pub async fn https_api_server(key: &str, issued: &Issued) -> super::http::ApiServer {
    let state = Arc::new(super::http::ApiState {
        key: key.to_string(),
        ..Default::default()
    });
    let addr = serve_tls(super::http::api_router(state.clone()), issued).await;
    super::http::ApiServer { addr, state }
}

/// Serves `router` over TLS with `issued` on a fresh loopback port in the current runtime.
pub async fn serve_tls(router: axum::Router, issued: &Issued) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let tls = TlsListener {
        listener,
        acceptor: TlsAcceptor::from(Arc::new(server_config(issued))),
    };
    tokio::spawn(async move {
        let _ = axum::serve(tls, router).await;
    });
    addr
}

/// Accepts TCP connections and completes a TLS handshake on each before handing it to axum.
/// A failed handshake (a client that refused the certificate) is dropped.
struct TlsListener {
    listener: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.listener.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}
