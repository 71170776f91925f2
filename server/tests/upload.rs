//! The import upload over real HTTP: the router on a real socket, a real
//! redb store, a real sign-in (argon2) and session cookie. The client is
//! written by hand on a TCP stream so that the tests decide exactly which
//! bytes are sent, and when.

use domain::store::{Credentials, Store};
use server::engine::redb::RedbStore;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PASSWORD: &str = "correct horse battery";

/// A server on a free port over a fresh store with an operator
/// (op@x.org) who has a password.
async fn server() -> (tempfile::TempDir, Arc<RedbStore>, SocketAddr) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(dir.path()).unwrap());
    let op = server::commands::ensure_admin(
        &*store,
        &domain::Email::parse("op@x.org").unwrap(),
        domain::user::Source::Bootstrap,
    )
    .unwrap();
    let hash = app::security::hash_password(PASSWORD).unwrap();
    store
        .set_password(op.key(), &hash, 1, &domain::By::parse("test"))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server::web::router(store.clone(), &format!("http://{addr}"), false, addr);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (dir, store, addr)
}

/// Reads a whole response (the requests ask to close the connection);
/// a guard against a hang, not a timing assertion.
async fn response(stream: &mut TcpStream) -> (u16, String, String) {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut raw))
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
    (status, head.to_string(), body.to_string())
}

/// Signs in through the sign-in server function; the session cookie.
async fn sign_in(addr: SocketAddr) -> String {
    sign_in_as(addr, "op@x.org").await
}

/// Signs `email` in; the session cookie.
async fn sign_in_as(addr: SocketAddr, email: &str) -> String {
    let body = format!(
        "email={}&password={}",
        email.replace('@', "%40"),
        PASSWORD.replace(' ', "+")
    );
    let mut s = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /api/sign_in HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let (status, head, body) = response(&mut s).await;
    assert_eq!(status, 200, "{head}\n{body}");
    head.lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .filter_map(|c| c.split(';').next())
        .find(|c| c.starts_with("roster="))
        .expect("a session cookie")
        .to_string()
}

fn upload_head(addr: SocketAddr, cookie: Option<&str>, query: &str, length: Option<u64>) -> String {
    let mut head = format!(
        "POST /api/import/upload?{query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/octet-stream\r\n"
    );
    if let Some(c) = cookie {
        head.push_str(&format!("Cookie: {c}\r\n"));
    }
    match length {
        Some(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
        None => head.push_str("Transfer-Encoding: chunked\r\n"),
    }
    head.push_str("\r\n");
    head
}

/// Sends `parts` as chunks of a chunked body, one write each.
async fn send_chunked(s: &mut TcpStream, parts: &[&[u8]]) {
    for part in parts {
        s.write_all(format!("{:x}\r\n", part.len()).as_bytes())
            .await
            .unwrap();
        s.write_all(part).await.unwrap();
        s.write_all(b"\r\n").await.unwrap();
        s.flush().await.unwrap();
        tokio::task::yield_now().await;
    }
    s.write_all(b"0\r\n\r\n").await.unwrap();
}

fn users_file(n: usize) -> Vec<u8> {
    let mut f = String::from("email,first_name,last_name,title\n");
    for i in 0..n {
        f.push_str(&format!("user{i}@example.org,User,Number {i},Engineer\n"));
    }
    f.into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chunked_upload_is_reassembled_exactly_and_committed() {
    let (_dir, store, addr) = server().await;
    let cookie = sign_in(addr).await;
    let file = users_file(5_000);
    let plan = store.preview(&file, domain::Actor::Owner).unwrap();
    let query = format!("name=users.csv&fingerprint={}", plan.fingerprint);
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(upload_head(addr, Some(&cookie), &query, None).as_bytes())
        .await
        .unwrap();
    // Uneven pieces, cut mid-row and mid-character of nothing in particular.
    let parts: Vec<&[u8]> = file.chunks(7_919).collect();
    assert!(parts.len() > 10);
    send_chunked(&mut s, &parts).await;
    let (status, head, body) = response(&mut s).await;
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(body.starts_with("{\"Committed\""), "{body}");
    // The fingerprint matched, so the server planned the very bytes
    // previewed; the batch records their SHA-256.
    let batches = store
        .batches_with_hash(&domain::store::sha256_hex(&file))
        .unwrap();
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].counts.create, 5_000);
    assert_eq!(store.user_count().unwrap(), 5_001);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_different_byte_is_a_different_plan_and_nothing_is_written() {
    let (_dir, store, addr) = server().await;
    let cookie = sign_in(addr).await;
    let file = users_file(100);
    let plan = store.preview(&file, domain::Actor::Owner).unwrap();
    let mut changed = file.clone();
    let last = changed.len() - 2;
    changed[last] = b'X';
    let query = format!("name=users.csv&fingerprint={}", plan.fingerprint);
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(upload_head(addr, Some(&cookie), &query, Some(changed.len() as u64)).as_bytes())
        .await
        .unwrap();
    s.write_all(&changed).await.unwrap();
    let (status, _, body) = response(&mut s).await;
    assert_eq!(status, 200);
    assert_eq!(body, "\"ChangedSincePreview\"");
    assert_eq!(store.user_count().unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_upload_is_refused_before_its_body_is_read() {
    let (_dir, store, addr) = server().await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    // 50 MB announced, not one byte sent: the answer can only come
    // before the body is read.
    s.write_all(upload_head(addr, None, "name=f.csv", Some(50_000_000)).as_bytes())
        .await
        .unwrap();
    let (status, _, body) = response(&mut s).await;
    assert_eq!(status, 401, "{body}");
    // And a stale or forged cookie is no session either.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        upload_head(addr, Some("roster=forged"), "name=f.csv", Some(50_000_000)).as_bytes(),
    )
    .await
    .unwrap();
    let (status, _, _) = response(&mut s).await;
    assert_eq!(status, 401);
    assert_eq!(store.user_count().unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_of_the_options_is_refused_with_the_limit() {
    let (_dir, store, addr) = server().await;
    store
        .set_option(domain::options::MAX_ROWS, "10", &domain::By::Cli, 1)
        .unwrap();
    let limit = store.options().unwrap().max_upload_bytes();
    let cookie = sign_in(addr).await;
    // Declared too large: refused before reading.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(upload_head(addr, Some(&cookie), "name=f.csv", Some(limit + 1)).as_bytes())
        .await
        .unwrap();
    let (status, _, body) = response(&mut s).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("at most 1 MB for the 10 rows"), "{body}");
    assert!(body.contains("import.max_rows"), "{body}");
    // Undeclared (chunked): refused once it passes the limit.
    let big = vec![b'a'; 256 * 1024];
    let parts: Vec<&[u8]> = std::iter::repeat_n(big.as_slice(), 5).collect();
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(upload_head(addr, Some(&cookie), "name=f.csv", None).as_bytes())
        .await
        .unwrap();
    send_chunked(&mut s, &parts).await;
    let (status, _, body) = response(&mut s).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(store.user_count().unwrap(), 1);
}

/// Starts an upload and sends the first piece of its body, leaving it
/// running (the server waits for the rest).
async fn start_upload(addr: SocketAddr, cookie: &str, query: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(upload_head(addr, Some(cookie), query, None).as_bytes())
        .await
        .unwrap();
    let first = b"email,first_name,last_name\n";
    s.write_all(format!("{:x}\r\n", first.len()).as_bytes())
        .await
        .unwrap();
    s.write_all(first).await.unwrap();
    s.write_all(b"\r\n").await.unwrap();
    s
}

/// The first answer among `streams` (the others are still waiting), and
/// whose it is.
async fn first_answer(streams: &mut [TcpStream]) -> (usize, (u16, String, String)) {
    let answers = streams
        .iter_mut()
        .map(|s| Box::pin(response(s)))
        .collect::<Vec<_>>();
    let (answer, index, _) = futures_util::future::select_all(answers).await;
    (index, answer)
}

/// The query of an upload of `file` as previewed now.
fn fingerprinted(store: &RedbStore, file: &[u8]) -> String {
    let plan = store.preview(file, domain::Actor::Owner).unwrap();
    format!("name=f.csv&fingerprint={}", plan.fingerprint)
}

/// An operator with a password, signed in: the session cookie.
async fn another_operator(store: &RedbStore, addr: SocketAddr, email: &str) -> String {
    let op = server::commands::ensure_admin(
        store,
        &domain::Email::parse(email).unwrap(),
        domain::user::Source::Bootstrap,
    )
    .unwrap();
    let hash = app::security::hash_password(PASSWORD).unwrap();
    store
        .set_password(op.key(), &hash, 1, &domain::By::parse("test"))
        .unwrap();
    sign_in_as(addr, email).await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_operator_has_one_upload_running_at_a_time() {
    let (_dir, store, addr) = server().await;
    let cookie = sign_in(addr).await;
    let query = fingerprinted(&store, b"email,first_name,last_name\nada@x.org,Ada,L\n");
    // Two uploads of one operator at once: whichever the server took
    // second is refused at once, the other goes on.
    let mut uploads = vec![
        start_upload(addr, &cookie, &query).await,
        start_upload(addr, &cookie, &query).await,
    ];
    let (refused, (status, _, body)) = first_answer(&mut uploads).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains("Another upload of yours is still running"),
        "{body}"
    );
    let mut running = uploads.swap_remove(1 - refused);
    send_chunked(&mut running, &[b"ada@x.org,Ada,L\n"]).await;
    let (status, _, body) = response(&mut running).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("{\"Committed\""), "{body}");
    assert_eq!(store.user_count().unwrap(), 2);
    // Finished: the operator may upload again.
    let query = fingerprinted(&store, b"email,first_name,last_name\nbob@x.org,Bob,B\n");
    let mut next = start_upload(addr, &cookie, &query).await;
    send_chunked(&mut next, &[b"bob@x.org,Bob,B\n"]).await;
    let (status, _, body) = response(&mut next).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("{\"Committed\""), "{body}");
    assert_eq!(store.user_count().unwrap(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_few_uploads_run_at_once_and_a_client_that_leaves_gives_its_place_back() {
    let (_dir, store, addr) = server().await;
    let max = server::web::upload::MAX_UPLOADS;
    let mut cookies = vec![sign_in(addr).await];
    for n in 1..=max {
        cookies.push(another_operator(&store, addr, &format!("op{n}@x.org")).await);
    }
    let mut uploads = Vec::new();
    for cookie in &cookies {
        uploads.push(start_upload(addr, cookie, "name=f.csv").await);
    }
    let (refused, (status, _, body)) = first_answer(&mut uploads).await;
    assert_eq!(status, 429, "{body}");
    assert!(
        body.contains(&format!("{max} uploads are being received")),
        "{body}"
    );
    // The clients of the running ones go away: their places are free again.
    uploads.clear();
    let cookie = &cookies[refused];
    let file = b"email,first_name,last_name\nada@x.org,Ada,L\n";
    let query = fingerprinted(&store, file);
    // The server notices a client is gone when it next reads from it: ask
    // again until it has (each answer is a 429 or the commit).
    let mut status = 0;
    for _ in 0..600 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(upload_head(addr, Some(cookie), &query, Some(file.len() as u64)).as_bytes())
            .await
            .unwrap();
        s.write_all(file).await.unwrap();
        let (answered, _, body) = response(&mut s).await;
        status = answered;
        if status != 429 {
            assert!(body.starts_with("{\"Committed\""), "{body}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}
