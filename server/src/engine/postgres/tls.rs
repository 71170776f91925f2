//! TLS to PostgreSQL: the libpq options `sslmode` and `sslrootcert` of a
//! `--database` address, on rustls.
//!
//! rust-postgres knows `sslmode=disable|prefer|require` only and no
//! `sslrootcert`, so [`parse`] takes both options out of the address (either
//! form), hands the rest to `postgres::Config`, and builds the rustls
//! configuration that gives each mode libpq's meaning:
//!
//! | sslmode | encrypted | certificate checked |
//! |---|---|---|
//! | absent, `disable` | no | — |
//! | `prefer` | when the server offers it | no (the chain, when `sslrootcert` names a file) |
//! | `require` | yes, else refused | no (the chain, when `sslrootcert` names a file) |
//! | `verify-ca` | yes, else refused | the chain up to a trusted root |
//! | `verify-full` | yes, else refused | the chain and the host name |
//!
//! Trusted roots: the PEM file `sslrootcert` names, else (and with
//! `sslrootcert=system`) the system's. Unix sockets never use TLS
//! (PostgreSQL offers none there; libpq ignores `sslmode` for them too).

use postgres::config::{Host, SslMode as WireMode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_cert_signed_by_trust_anchor};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// The TLS connector of every PostgreSQL connection (it does nothing when
/// the address's `sslmode` turns TLS off).
pub type Connector = tokio_postgres_rustls::MakeRustlsConnect;

/// An error and its causes, joined by ": ".
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        // Some errors repeat their cause's text in their own.
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// How a connection uses TLS (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode `{other}` is not one of disable, prefer, require, verify-ca, \
                     verify-full"
                ));
            }
        })
    }
}

/// Where trusted root certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RootCert {
    /// No `sslrootcert`.
    Absent,
    /// `sslrootcert=system`.
    System,
    /// `sslrootcert=FILE`.
    File(String),
}

/// A database address's TLS options, taken out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TlsOptions {
    mode: Option<SslMode>,
    root_cert: RootCert,
}

/// Options rust-postgres does not know, or that this connector does not
/// support: named in a clear error instead of "unknown option".
const UNSUPPORTED: &[&str] = &["sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir"];

/// Parses a database address (`postgres://…` or `host=… …`): its settings
/// and the TLS connector its `sslmode` and `sslrootcert` ask for. The root
/// certificates are read here, so a bad option or an unreadable file is an
/// error now, not at the first connection.
pub fn parse(url: &str) -> Result<(postgres::Config, Connector), String> {
    let (rest, options) = split_tls_options(url)?;
    let mut config: postgres::Config =
        rest.parse().map_err(|e: postgres::Error| with_causes(&e))?;
    let mode = options.mode.unwrap_or(SslMode::Disable);
    let unix_only = !config.get_hosts().is_empty()
        && config
            .get_hosts()
            .iter()
            .all(|h| !matches!(h, Host::Tcp(_)));
    config.ssl_mode(match mode {
        _ if unix_only => WireMode::Disable,
        SslMode::Disable => WireMode::Disable,
        SslMode::Prefer => WireMode::Prefer,
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireMode::Require,
    });
    let tls = connector(mode, &options.root_cert)?;
    Ok((config, tls))
}

/// A connector for a configuration whose `ssl_mode` is `Disable` (it never
/// starts TLS).
pub fn without_tls() -> Result<Connector, String> {
    connector(SslMode::Disable, &RootCert::Absent)
}

/// The rustls client for `mode`: the verifier that mode asks for, ALPN
/// `postgresql` (what PostgreSQL 17 expects of a client that sends ALPN).
fn connector(mode: SslMode, root_cert: &RootCert) -> Result<Connector, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    if *root_cert == RootCert::System
        && matches!(mode, SslMode::Disable | SslMode::Prefer | SslMode::Require)
    {
        return Err(format!(
            "sslrootcert=system needs sslmode=verify-ca or verify-full (it is {})",
            match mode {
                SslMode::Disable => "disable",
                SslMode::Prefer => "prefer",
                _ => "require",
            }
        ));
    }
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        SslMode::VerifyFull => WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots(root_cert)?),
            provider.clone(),
        )
        .build()
        .map_err(|e| format!("cannot use the root certificates: {e}"))?,
        SslMode::VerifyCa => Arc::new(Verifier {
            roots: Some(Arc::new(roots(root_cert)?)),
            provider: provider.clone(),
        }),
        // As libpq: without verify-*, a root certificate file that is named
        // still has the chain checked.
        SslMode::Prefer | SslMode::Require if matches!(root_cert, RootCert::File(_)) => {
            Arc::new(Verifier {
                roots: Some(Arc::new(roots(root_cert)?)),
                provider: provider.clone(),
            })
        }
        // Encrypted, any certificate (`disable` never starts TLS at all).
        SslMode::Disable | SslMode::Prefer | SslMode::Require => Arc::new(Verifier {
            roots: None,
            provider: provider.clone(),
        }),
    };
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"postgresql".to_vec()];
    Ok(Connector::new(config))
}

/// The trusted roots: the PEM file `sslrootcert` names, else the system's.
fn roots(root_cert: &RootCert) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match root_cert {
        RootCert::File(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("cannot read the root certificates in {path}: {e}"))?;
            if certs.is_empty() {
                return Err(format!(
                    "{path} holds no certificate (sslrootcert wants PEM: \
                     -----BEGIN CERTIFICATE-----)"
                ));
            }
            for cert in certs {
                store
                    .add(cert)
                    .map_err(|e| format!("a certificate in {path} cannot be used: {e}"))?;
            }
        }
        RootCert::Absent | RootCert::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = found
                    .errors
                    .first()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                return Err(format!(
                    "no root certificates found on this system{why}: name a PEM file with \
                     sslrootcert"
                ));
            }
        }
    }
    Ok(store)
}

/// Checks the server's certificate chain up to `roots` (host name not
/// checked), or, without roots, nothing but the handshake's signatures (the
/// server holds the key of the certificate it shows).
#[derive(Debug)]
struct Verifier {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Takes `sslmode` and `sslrootcert` out of an address, leaving every
/// other setting as it was written; the last of a repeated option counts,
/// as in libpq.
fn split_tls_options(url: &str) -> Result<(String, TlsOptions), String> {
    let mut options = TlsOptions {
        mode: None,
        root_cert: RootCert::Absent,
    };
    let mut take = |key: &str, value: String| -> Result<bool, String> {
        match key {
            "sslmode" => options.mode = Some(SslMode::parse(&value)?),
            "sslrootcert" => {
                options.root_cert = match value.as_str() {
                    "" => RootCert::Absent,
                    "system" => RootCert::System,
                    _ => RootCert::File(value),
                }
            }
            _ if UNSUPPORTED.contains(&key) => {
                return Err(format!(
                    "{key} is not supported (client certificates and revocation lists are not; \
                     sslmode and sslrootcert are)"
                ));
            }
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let Some(q) = url.find('?') else {
            return Ok((url.to_string(), options));
        };
        let mut kept = Vec::new();
        for pair in url[q + 1..].split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !take(&percent_decode(key)?, percent_decode(value)?)? {
                kept.push(pair);
            }
        }
        if kept.is_empty() {
            url[..q].to_string()
        } else {
            format!("{}?{}", &url[..q], kept.join("&"))
        }
    } else {
        let mut rest = String::with_capacity(url.len());
        let mut from = 0;
        for (start, end, key, value) in key_value_spans(url)? {
            if take(key, value)? {
                rest.push_str(&url[from..start]);
                from = end;
            }
        }
        rest.push_str(&url[from..]);
        rest
    };
    Ok((rest, options))
}

/// `%41` → `A`, as rust-postgres decodes an address's query.
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(b) = hex {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).map_err(|_| format!("`{s}` is not UTF-8 once decoded"))
}

/// The parameters of a `key=value …` address with where each starts and
/// ends (byte offsets) and its value unquoted, by the grammar rust-postgres
/// and libpq read: `key = value`, a value in single quotes with backslash
/// escapes, or bare up to white space (backslash escapes too).
fn key_value_spans(s: &str) -> Result<Vec<(usize, usize, &str, String)>, String> {
    let mut out = Vec::new();
    let mut it = s.char_indices().peekable();
    let end_of = |it: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
        it.peek().map_or(s.len(), |&(i, _)| i)
    };
    loop {
        while it.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
        let start = end_of(&mut it);
        while it
            .next_if(|&(_, c)| !c.is_whitespace() && c != '=')
            .is_some()
        {}
        let key = &s[start..end_of(&mut it)];
        if key.is_empty() {
            if it.peek().is_none() {
                return Ok(out);
            }
            return Err(format!("expected a setting name at byte {start}"));
        }
        while it.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
        if it.next_if(|&(_, c)| c == '=').is_none() {
            return Err(format!("expected `=` after `{key}`"));
        }
        while it.next_if(|&(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if it.next_if(|&(_, c)| c == '\'').is_some() {
            loop {
                match it.next() {
                    None => return Err(format!("the quoted value of `{key}` is not closed")),
                    Some((_, '\'')) => break,
                    Some((_, '\\')) => value.extend(it.next().map(|(_, c)| c)),
                    Some((_, c)) => value.push(c),
                }
            }
        } else {
            while let Some((_, c)) = it.next_if(|&(_, c)| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(it.next().map(|(_, c)| c));
                } else {
                    value.push(c);
                }
            }
        }
        out.push((start, end_of(&mut it), key, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(url: &str) -> (String, Option<SslMode>, RootCert) {
        let (rest, o) = split_tls_options(url).unwrap();
        (rest, o.mode, o.root_cert)
    }

    #[test]
    fn tls_options_leave_the_url_form_and_the_rest_stays() {
        assert_eq!(
            split(
                "postgres://u:p@db:5432/roster?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca%20x.pem"
            ),
            (
                "postgres://u:p@db:5432/roster?application_name=x".into(),
                Some(SslMode::VerifyFull),
                RootCert::File("/etc/ca x.pem".into())
            )
        );
        assert_eq!(
            split("postgresql://db/roster?sslmode=require"),
            (
                "postgresql://db/roster".into(),
                Some(SslMode::Require),
                RootCert::Absent
            )
        );
        assert_eq!(
            split("postgres://db/roster"),
            ("postgres://db/roster".into(), None, RootCert::Absent)
        );
    }

    #[test]
    fn tls_options_leave_the_key_value_form_and_the_rest_stays() {
        assert_eq!(
            split("host=db sslmode = verify-ca user='a b' sslrootcert='/x/it\\'s.pem' dbname=r"),
            (
                "host=db  user='a b'  dbname=r".into(),
                Some(SslMode::VerifyCa),
                RootCert::File("/x/it's.pem".into())
            )
        );
        assert_eq!(
            split("sslrootcert=system sslmode=disable sslmode=verify-full"),
            ("  ".into(), Some(SslMode::VerifyFull), RootCert::System)
        );
        assert_eq!(
            split("host=/tmp user=roster"),
            ("host=/tmp user=roster".into(), None, RootCert::Absent)
        );
    }

    #[test]
    fn bad_tls_options_are_errors() {
        let err = |url: &str| split_tls_options(url).unwrap_err();
        assert!(err("host=db sslmode=verify").contains("sslmode `verify` is not one of"));
        assert!(err("postgres://db/r?sslmode=allowed").contains("`allowed`"));
        assert!(err("host=db sslcert=/c.pem").contains("sslcert is not supported"));
        assert!(err("host=db sslrootcert='/open").contains("not closed"));
        assert!(err("host=db sslmode").contains("expected `=`"));
        let missing = parse("host=db sslmode=verify-full sslrootcert=/no/such/ca.pem")
            .err()
            .unwrap();
        assert!(
            missing.contains("cannot read the root certificates in /no/such/ca.pem"),
            "{missing}"
        );
        let weak = parse("host=db sslmode=require sslrootcert=system")
            .err()
            .unwrap();
        assert!(
            weak.contains("needs sslmode=verify-ca or verify-full"),
            "{weak}"
        );
        let unknown = parse("host=db sslmode=require nosuch=1").err().unwrap();
        assert!(unknown.contains("nosuch"), "{unknown}");
    }

    #[test]
    fn a_file_without_certificates_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let url = format!("host=db sslmode=verify-ca sslrootcert={}", path.display());
        let e = parse(&url).err().unwrap();
        assert!(e.contains("holds no certificate"), "{e}");
    }

    #[test]
    fn without_sslmode_and_on_unix_sockets_tls_stays_off() {
        let mode = |url: &str| parse(url).unwrap().0.get_ssl_mode();
        assert_eq!(mode("host=db user=roster"), WireMode::Disable);
        assert_eq!(mode("postgres://db/roster"), WireMode::Disable);
        assert_eq!(
            mode("host=/run/postgresql sslmode=require"),
            WireMode::Disable
        );
        assert_eq!(mode("host=db sslmode=prefer"), WireMode::Prefer);
        assert_eq!(mode("host=db sslmode=require"), WireMode::Require);
    }
}
