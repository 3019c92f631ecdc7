//! The TLS step: a rustls handshake whose verifier reads the certificate
//! and accepts it (nothing secret is sent, so nothing needs trusting), then
//! `GET /` inside it.

use std::net::IpAddr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::http::{self, HttpInfo};
use super::{Bounded, Target};

/// What the handshake showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// `TLS 1.3`, `TLS 1.2`.
    pub version: String,
    pub alpn: Option<String>,
    pub subject: Option<String>,
    pub issuer: Option<String>,
    pub common_name: Option<String>,
    pub dns_names: Vec<String>,
    /// RFC 3339, UTC.
    pub not_after: Option<String>,
}

impl TlsInfo {
    /// `TLS 1.3 h2 CN=dual.test`.
    pub fn summary(&self) -> String {
        let mut text = self.version.clone();
        if let Some(alpn) = &self.alpn {
            text.push(' ');
            text.push_str(alpn);
        }
        if let Some(cn) = &self.common_name {
            text.push_str(" CN=");
            text.push_str(cn);
        } else if let Some(subject) = &self.subject {
            text.push(' ');
            text.push_str(subject);
        }
        text
    }
}

/// Accepts every certificate and signature: the probe only reads them.
#[derive(Debug)]
struct ReadOnly {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for ReadOnly {
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
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client connection with these ALPN protocols; SNI is the user's name
/// when it is a name (rustls sends none for an address).
fn client(target: &Target, alpn: &[&[u8]]) -> Option<ClientConnection> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .ok()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ReadOnly { provider }))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let name = target
        .host_name
        .as_deref()
        .filter(|name| name.parse::<IpAddr>().is_err())
        .and_then(|name| ServerName::try_from(name.to_owned()).ok())
        .unwrap_or_else(|| ServerName::IpAddress(target.address.ip().into()));
    ClientConnection::new(Arc::new(config), name).ok()
}

/// Runs the handshake to its end (or its first error).
fn drive(conn: &mut ClientConnection, io: &mut Bounded<'_>) -> std::io::Result<()> {
    // Each round reads or writes something or fails; a handshake is a few
    // rounds, so the cap only stops a bug from spinning.
    for _ in 0..64 {
        if !conn.is_handshaking() {
            return Ok(());
        }
        conn.complete_io(io)?;
    }
    Err(std::io::Error::other("the handshake did not finish"))
}

/// How a TLS attempt ended.
pub enum Attempt {
    /// What the handshake showed and the answer to `GET /` inside it.
    Done(Box<(TlsInfo, Option<HttpInfo>)>),
    /// The server speaks TLS but refused the handshake with this alert.
    Refused(String),
    /// No TLS there (an error, a close, silence or a non-TLS answer).
    NotTls,
}

/// Tries TLS on a connection that has said nothing yet.
pub fn handshake(mut io: Bounded<'_>, target: &Target) -> Attempt {
    let Some(mut conn) = client(target, &[b"h2", b"http/1.1"]) else {
        return Attempt::NotTls;
    };
    if let Err(error) = drive(&mut conn, &mut io) {
        let alert = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .and_then(|tls| match tls {
                rustls::Error::AlertReceived(alert) => Some(format!("{alert:?}")),
                _ => None,
            });
        return alert.map_or(Attempt::NotTls, Attempt::Refused);
    }
    let info = info_of(&conn);
    let http = if conn.alpn_protocol() == Some(b"h2") {
        // HTTP/1.1 cannot be spoken over h2: ask again offering only it.
        let Bounded { stream, budget, .. } = io;
        drop(stream);
        budget.connect(target.address).ok().and_then(|stream| {
            let mut io = Bounded::new(stream, budget);
            let mut conn = client(target, &[b"http/1.1"])?;
            drive(&mut conn, &mut io).ok()?;
            http::exchange(&mut rustls::Stream::new(&mut conn, &mut io), target, true).ok()
        })
    } else {
        http::exchange(&mut rustls::Stream::new(&mut conn, &mut io), target, true).ok()
    };
    Attempt::Done(Box::new((info, http)))
}

fn info_of(conn: &ClientConnection) -> TlsInfo {
    let version = match conn.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3".to_owned(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2".to_owned(),
        Some(other) => format!("{other:?}"),
        None => "TLS".to_owned(),
    };
    let mut info = TlsInfo {
        version,
        alpn: conn
            .alpn_protocol()
            .map(|p| String::from_utf8_lossy(p).into_owned()),
        subject: None,
        issuer: None,
        common_name: None,
        dns_names: Vec::new(),
        not_after: None,
    };
    if let Some(der) = conn.peer_certificates().and_then(<[_]>::first) {
        certificate_fields(der.as_ref(), &mut info);
    }
    info
}

/// Subject, issuer, DNS names and expiry of a DER certificate.
fn certificate_fields(der: &[u8], info: &mut TlsInfo) {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return;
    };
    info.subject = Some(cert.subject().to_string());
    info.issuer = Some(cert.issuer().to_string());
    info.common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        info.dns_names = san
            .value
            .general_names
            .iter()
            .filter_map(|name| match name {
                GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                _ => None,
            })
            .collect();
    }
    let not_after = cert.validity().not_after;
    info.not_after = u64::try_from(not_after.timestamp())
        .ok()
        .map(|seconds| {
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds),
            )
            .to_string()
        })
        .or_else(|| not_after.to_rfc2822().ok());
}
