//! SCIM provisioning throughput: 10 000 users created over SCIM, one POST
//! each, by 8 clients in parallel (each on its own keep-alive HTTP/1.1
//! connection), against the server's own router and connection loop on a
//! local port, on redb and on PostgreSQL. Prints users/s and the p50/p99
//! of a request, and leaves them for `make bench`'s table. The token's
//! request rate is raised for the run (the default throttle would be the
//! measure). PostgreSQL runs on the server ROSTER_TEST_DATABASE_URL names
//! (in key=value form), or on a throwaway cluster it starts.
//! Run: `cargo bench -p server --bench scim`.

use domain::Actor;
use domain::token::TokenRole;
use domain::usecase::tokens::NewToken;
use server::engine::Engine;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

mod common;
use common::record;

const USERS: usize = 10_000;
const CLIENTS: usize = 8;

fn body(i: usize) -> String {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("scim{i}@example.com"),
        "externalId": format!("hr-{i}"),
        "name": {"givenName": format!("First{i}"), "familyName": format!("Last{i}")},
        "title": "Engineer",
        "active": true,
    })
    .to_string()
}

/// One client: POSTs users `from, from + CLIENTS, …` on one connection;
/// each request's time.
async fn client(addr: SocketAddr, token: Arc<String>, from: usize) -> Vec<Duration> {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut times = Vec::with_capacity(USERS / CLIENTS + 1);
    for i in (from..USERS).step_by(CLIENTS) {
        let body = body(i);
        let request = format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let started = Instant::now();
        write.write_all(request.as_bytes()).await.unwrap();
        // The status line, the headers (for the length), the body.
        let mut line = String::new();
        read.read_line(&mut line).await.unwrap();
        assert!(line.starts_with("HTTP/1.1 201"), "user {i}: {line}");
        let mut length = 0;
        loop {
            line.clear();
            read.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut rest = vec![0; length];
        read.read_exact(&mut rest).await.unwrap();
        times.push(started.elapsed());
    }
    times
}

fn measure(name: &str, store: Arc<dyn Engine>) {
    let token = store
        .create_token(NewToken {
            name: "bench",
            role: TokenRole::Operator,
            days: None,
            by: &domain::By::Cli,
            actor: Actor::Owner,
            now: app::context::now_s(),
        })
        .unwrap()
        .text;
    let token = Arc::new(token);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut times, wall) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let settings = server::web::Settings {
            scim_rate: domain::throttle::Rate {
                per_second: 100_000,
            },
            ..server::web::Settings::new(&format!("http://{addr}"), addr)
        };
        let app = server::web::router_with(store.clone(), &settings);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server::web::serve_on(
            listener,
            app,
            Duration::from_secs(30),
            async {
                let _ = stopped.await;
            },
        ));
        let started = Instant::now();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|from| tokio::spawn(client(addr, token.clone(), from)))
            .collect();
        let mut times = Vec::with_capacity(USERS);
        for c in clients {
            times.extend(c.await.unwrap());
        }
        let wall = started.elapsed();
        let _ = stop.send(());
        let _ = serving.await;
        (times, wall)
    });
    assert_eq!(times.len(), USERS);
    assert_eq!(store.user_count().unwrap(), USERS as u64);
    times.sort();
    let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
    let per_second = USERS as f64 / wall.as_secs_f64();
    println!(
        "scim {name}: {USERS} users over SCIM, {CLIENTS} clients: {:.2} s, {per_second:.0} users/s, \
         p50 {:.1} ms, p99 {:.1} ms",
        wall.as_secs_f64(),
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
    record(
        &format!("scim-{name}"),
        &[
            ("wall", wall),
            ("p50", at(0.5)),
            ("p99", at(0.99)),
            // Users a second, as the time of one user in microseconds.
            ("per_user", wall / USERS as u32),
        ],
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let redb: Arc<dyn Engine> =
        Arc::new(server::engine::redb::RedbStore::open(dir.path()).unwrap());
    measure("redb", redb);

    let cluster = std::env::temp_dir().join(format!("roster-scim-bench-{}", std::process::id()));
    let url = server::test_support::test_server(&cluster).unwrap();
    let name = format!("roster_scim_bench_{}", std::process::id());
    postgres::Client::connect(&url, postgres::NoTls)
        .unwrap()
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    assert!(
        !url.contains("://"),
        "give ROSTER_TEST_DATABASE_URL in key=value form for the bench"
    );
    let pg: Arc<dyn Engine> =
        Arc::new(server::engine::postgres::PgStore::open(&format!("{url} dbname={name}")).unwrap());
    measure("postgres", pg);
}
