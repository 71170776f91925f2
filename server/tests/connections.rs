//! The server's defences at the connection and request level, over real
//! TCP against the real server (`web::serve_on` with `web::router_with`),
//! a real redb store and real argon2: device cookies at sign-in, the
//! client address behind trusted proxies (and `X-Forwarded-For` ignored
//! without them), and the header and body timeouts. The client is written
//! by hand so that the tests decide which bytes are sent, and when.

use domain::store::Credentials;
use server::engine::redb::RedbStore;
use server::web::proxies::TrustedProxies;
use server::web::{Settings, Timeouts};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "correct horse battery";
/// Longer than any timeout of these servers: a guard against a hang.
const PATIENCE: Duration = Duration::from_secs(60);

/// A server on a free port over a fresh store whose administrator
/// (admin@localhost) has a password.
async fn server(
    trusted_proxies: &str,
    timeouts: Timeouts,
) -> (tempfile::TempDir, Arc<RedbStore>, SocketAddr) {
    server_with(trusted_proxies, timeouts, false).await
}

/// [`server`], with `Secure` cookies when `secure` (as behind HTTPS).
async fn server_with(
    trusted_proxies: &str,
    timeouts: Timeouts,
    secure: bool,
) -> (tempfile::TempDir, Arc<RedbStore>, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(dir.path()).unwrap());
    let admin = server::commands::ensure_admin(
        &*store,
        &domain::Email::parse("admin@localhost").unwrap(),
        domain::user::Source::Bootstrap,
    )
    .unwrap();
    let hash = app::security::hash_password(PASSWORD).unwrap();
    store
        .set_password(admin.key(), &hash, 1, &domain::By::parse("test"))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let settings = Settings {
        trusted_proxies: TrustedProxies::parse(trusted_proxies).unwrap(),
        timeouts,
        secure,
        ..Settings::new(&format!("http://{addr}"), addr)
    };
    let app = server::web::router_with(store.clone(), &settings);
    tokio::spawn(server::web::serve_on(
        listener,
        app,
        timeouts.headers,
        std::future::pending(),
    ));
    (dir, store, addr)
}

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    /// The `name=value` of each cookie the answer sets, with attributes.
    fn set_cookies(&self) -> Vec<&str> {
        self.head
            .lines()
            .filter_map(|l| l.strip_prefix("set-cookie: "))
            .collect()
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .filter_map(|c| c.split(';').next())
            .find(|c| c.starts_with(&format!("{name}=")))
            .map(str::to_string)
    }
}

/// Reads a whole answer (the requests ask to close the connection).
async fn answer(stream: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw))
        .await
        .expect("the server answers")
        .unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    }
}

/// A sign-in through the sign-in server function, with extra header
/// lines (`X-Forwarded-For`, `Cookie`).
async fn sign_in(addr: SocketAddr, email: &str, password: &str, extra: &[String]) -> Answer {
    let body = format!(
        "email={}&password={}",
        email.replace('@', "%40"),
        password.replace(' ', "+")
    );
    let mut request = format!(
        "POST /api/sign_in HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        body.len()
    );
    for line in extra {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request.push_str(&body);
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    answer(&mut s).await
}

fn from(address: &str) -> String {
    format!("X-Forwarded-For: {address}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_in_browser_keeps_signing_in_while_an_attacker_locks_the_account() {
    // The server behind a proxy on this host, so that the attacker and
    // the owner can come from different addresses.
    let (_dir, _store, addr) = server("127.0.0.1", Timeouts::default()).await;
    let owner = from("198.51.100.7");
    let first = sign_in(
        addr,
        "admin@localhost",
        PASSWORD,
        std::slice::from_ref(&owner),
    )
    .await;
    assert_eq!(first.status, 200, "{}\n{}", first.head, first.body);
    let device = first.cookie("roster_device").expect("a device cookie");
    let set = first
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("roster_device="))
        .unwrap()
        .to_string();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=15552000"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(first.cookie("roster").is_some(), "the session cookie too");
    // The attacker guesses, from addresses of its own.
    for i in 0..domain::throttle::FREE_FAILURES {
        let r = sign_in(
            addr,
            "admin@localhost",
            "guess",
            &[from(&format!("203.0.113.{i}"))],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(r.body.contains("Wrong email or password."), "{}", r.body);
    }
    // Without the cookie even the owner is held back now …
    let r = sign_in(
        addr,
        "admin@localhost",
        PASSWORD,
        std::slice::from_ref(&owner),
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.body);
    // … with it, not; and so is a forged one.
    let forged = format!(
        "Cookie: roster_device={}x",
        &device["roster_device=".len()..]
    );
    let r = sign_in(addr, "admin@localhost", PASSWORD, &[owner.clone(), forged]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    let r = sign_in(
        addr,
        "admin@localhost",
        PASSWORD,
        &[owner, format!("Cookie: {device}")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.cookie("roster_device").is_some(), "a fresh device cookie");
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_https_the_device_cookie_is_a_secure_host_cookie() {
    let (_dir, _store, addr) = server_with("127.0.0.1", Timeouts::default(), true).await;
    let owner = from("198.51.100.7");
    let first = sign_in(
        addr,
        "admin@localhost",
        PASSWORD,
        std::slice::from_ref(&owner),
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.cookie("roster_device"), None);
    let device = first
        .cookie("__Host-roster_device")
        .expect("a __Host- device cookie");
    let set = first
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-roster_device="))
        .unwrap()
        .to_string();
    assert!(set.contains("Secure") && set.contains("Path=/"), "{set}");
    for i in 0..domain::throttle::FREE_FAILURES {
        let r = sign_in(
            addr,
            "admin@localhost",
            "guess",
            &[from(&format!("203.0.113.{i}"))],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
    // The cookie under the plain name is not read behind HTTPS.
    let plain = device.replacen("__Host-", "", 1);
    let r = sign_in(
        addr,
        "admin@localhost",
        PASSWORD,
        &[owner.clone(), format!("Cookie: {plain}")],
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.body);
    let r = sign_in(
        addr,
        "admin@localhost",
        PASSWORD,
        &[owner, format!("Cookie: {device}")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_trusted_proxies_x_forwarded_for_is_ignored() {
    let (_dir, _store, addr) = server("", Timeouts::default()).await;
    // Five failures from one peer, each claiming another address (and
    // another account, so that only the address counts).
    for i in 0..domain::throttle::FREE_FAILURES {
        let r = sign_in(
            addr,
            &format!("nobody{i}@x.org"),
            "guess",
            &[from(&format!("203.0.113.{i}"))],
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
    let r = sign_in(addr, "admin@localhost", PASSWORD, &[from("198.51.100.7")]).await;
    assert_eq!(r.status, 429, "the peer is throttled: {}", r.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let (_dir, _store, addr) = server("127.0.0.0/8", Timeouts::default()).await;
    // The client's own claim is on the left; the proxy appended the
    // address it saw.
    let attacker = from("192.0.2.1, 203.0.113.5");
    for i in 0..domain::throttle::FREE_FAILURES {
        let r = sign_in(
            addr,
            &format!("nobody{i}@x.org"),
            "guess",
            std::slice::from_ref(&attacker),
        )
        .await;
        assert_eq!(r.status, 400, "{}", r.body);
    }
    let r = sign_in(addr, "nobody9@x.org", "guess", &[attacker]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    // Changing the part the client wrote changes nothing.
    let r = sign_in(
        addr,
        "nobody9@x.org",
        "guess",
        &[from("192.0.2.2, 203.0.113.5")],
    )
    .await;
    assert_eq!(r.status, 429, "{}", r.body);
    // Another client behind the same proxy is not held back.
    let r = sign_in(addr, "admin@localhost", PASSWORD, &[from("198.51.100.7")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Whether the server closed `stream` (or broke it): a read that returns
/// nothing or fails.
async fn closed(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return true,
            // An answer (408, 400 …) may come first; then the end.
            Ok(_) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_sends_its_headers_slowly_is_cut_off_and_others_are_served() {
    let timeouts = Timeouts {
        headers: Duration::from_secs(2),
        ..Timeouts::default()
    };
    let (_dir, _store, addr) = server("", timeouts).await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = slow.split();
    let head = format!(
        "GET /signin HTTP/1.1\r\nHost: {addr}\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(200)
    );
    let trickle = async {
        for byte in head.as_bytes() {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    let watch = async {
        let mut buf = [0u8; 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    };
    let others = async {
        // Meanwhile another client signs in.
        tokio::time::sleep(Duration::from_millis(500)).await;
        sign_in(addr, "admin@localhost", PASSWORD, &[]).await
    };
    let cut_off = async {
        tokio::select! {
            () = watch => true,
            () = trickle => false, // all of it sent: not cut off
        }
    };
    let (cut_off, other) = tokio::join!(tokio::time::timeout(PATIENCE, cut_off), others);
    assert_eq!(cut_off, Ok(true), "the slow connection was closed");
    assert_eq!(other.status, 200, "{}", other.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_stops_sending_its_body_is_cut_off() {
    let timeouts = Timeouts {
        body: Duration::from_secs(2),
        ..Timeouts::default()
    };
    let (_dir, _store, addr) = server("", timeouts).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    // 100 bytes announced, 10 sent.
    let request = format!(
        "POST /api/sign_in HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nemail=a%40"
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let cut_off = tokio::time::timeout(PATIENCE, closed(&mut s)).await;
    assert_eq!(cut_off, Ok(true));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_that_sends_nothing_is_closed() {
    let timeouts = Timeouts {
        headers: Duration::from_secs(2),
        ..Timeouts::default()
    };
    let (_dir, _store, addr) = server("", timeouts).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();
    assert_eq!(
        tokio::time::timeout(PATIENCE, closed(&mut silent)).await,
        Ok(true)
    );
    // A kept-alive connection that goes quiet after a request, too.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET /signin HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    assert_eq!(
        tokio::time::timeout(PATIENCE, closed(&mut s)).await,
        Ok(true)
    );
}
