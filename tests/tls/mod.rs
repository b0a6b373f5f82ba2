//! The HTTP client speaks TLS with the crypto provider switcher ships (Graviola, no C library):
//! a full handshake and request against a local server holding a self-signed certificate for
//! `localhost` and 127.0.0.1 (`fixtures/tls/`, valid until 2126). Included into `source::http`'s unit tests, as the
//! client is crate-private.

use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const CERT: &str = include_str!("../../fixtures/tls/localhost.pem");
const KEY: &str = include_str!("../../fixtures/tls/localhost.key");

/// Serves one HTTPS request with `body`; returns the request's head, or why the exchange failed.
fn serve_once(
    listener: TcpListener,
    body: &'static str,
) -> std::thread::JoinHandle<io::Result<String>> {
    let cert = CertificateDer::from_pem_slice(CERT.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).unwrap();
    let config =
        rustls::ServerConfig::builder_with_provider(Arc::new(rustls_graviola::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
    std::thread::spawn(move || {
        let (tcp, _) = listener.accept()?;
        let connection =
            rustls::ServerConnection::new(Arc::new(config)).map_err(io::Error::other)?;
        let mut tls = rustls::StreamOwned::new(connection, tcp);
        let mut head = Vec::new();
        let mut chunk = [0u8; 1024];
        while !head.ends_with(b"\r\n\r\n") {
            match tls.read(&mut chunk)? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => head.extend_from_slice(&chunk[..n]),
            }
        }
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(answer.as_bytes())?;
        tls.conn.send_close_notify();
        tls.flush()?;
        Ok(String::from_utf8_lossy(&head).into_owned())
    })
}

#[tokio::test]
async fn an_https_source_is_reached_over_tls() {
    // The crypto provider the sources' client installs when it is built.
    super::install_crypto();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://127.0.0.1:{}/quota",
        listener.local_addr().unwrap().port()
    );
    let server = serve_once(listener, r#"{"ok": true}"#);
    // The same client, trusting the test certificate as well.
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(CERT.as_bytes()).unwrap())
        .no_proxy()
        .build()
        .unwrap();
    let response = client.get(&url).send().await.unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_11);
    assert_eq!(response.text().await.unwrap(), r#"{"ok": true}"#);
    let head = server.join().unwrap().unwrap();
    assert!(head.starts_with("GET /quota HTTP/1.1\r\n"), "{head}");
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    super::install_crypto();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "https://127.0.0.1:{}/quota",
        listener.local_addr().unwrap().port()
    );
    let server = serve_once(listener, "{}");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let err = client.get(&url).send().await.unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    // The server saw the client give up during the handshake.
    assert!(server.join().unwrap().is_err());
}
