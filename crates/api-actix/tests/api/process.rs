//! The `authusers` binary as an operator runs it: configuration errors,
//! `authusers config`, and graceful shutdown on SIGTERM.

use std::net::TcpListener;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use reqwest::StatusCode;
use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_authusers");

/// A working directory of the process's own: in development without a
/// key, the binary writes one into `var/` of its working directory.
pub fn scratch_folder() -> std::path::PathBuf {
    let folder = std::env::temp_dir().join(format!("authusers-run-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&folder).expect("a scratch folder");
    folder
}

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BINARY)
        .args(args)
        .current_dir(scratch_folder())
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run authusers")
}

#[test]
fn bad_configuration_is_one_line_per_problem_and_exit_code_2() {
    let output = run(
        &["serve"],
        &[
            ("DATABASE_URL", "mysql://localhost/db"),
            ("BCRYPT_COST", "twelve"),
            ("AUTHUSERS_ENV", "production"),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    // The URL, the cost, and production's JWT_SECRET, MFA_SECRET_KEY and
    // PASSWORD_RESET_URL.
    assert_eq!(lines.len(), 5, "{stderr}");
    assert!(lines
        .iter()
        .all(|l| l.starts_with("authusers: configuration error: ")));
    assert!(lines
        .iter()
        .any(|l| l.contains("PASSWORD_RESET_URL is required")));
    assert!(lines
        .iter()
        .any(|l| l.contains("MFA_SECRET_KEY is required when AUTHUSERS_ENV=production")));
    assert!(!stderr.contains("panicked"));
}

/// A command that fails says what it was doing and why, causes and all,
/// on one line, with exit code 1.
#[test]
fn a_failed_command_is_one_line_with_its_cause_and_exit_code_1() {
    let output = run(
        &[
            "import",
            "django",
            "--report",
            "/nonexistent-folder/report.jsonl",
            "-",
        ],
        &[("DATABASE_URL", "sqlite://import-report.db")],
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0]
            .starts_with("authusers: cannot write the report /nonexistent-folder/report.jsonl: "),
        "{stderr}"
    );
    assert!(lines[0].contains("No such file or directory"), "{stderr}");
}

#[test]
fn config_prints_the_effective_settings_with_secrets_masked() {
    let file = std::env::temp_dir().join(format!("authusers-{}.toml", std::process::id()));
    std::fs::write(
        &file,
        "bcrypt_cost = 11\nmail_language = \"ru\"\nauthusers_port = 9000\n",
    )
    .unwrap();
    let output = run(
        &["--config", file.to_str().unwrap(), "config"],
        &[
            ("JWT_SECRET", "a-very-secret-jwt-key"),
            ("DATABASE_URL", "postgres://app:db-password@db/users"),
            ("MAIL_TRANSPORT", "smtp"),
            (
                "SMTP_URL",
                "smtps://mailer:smtp-password@mail.example.com:465",
            ),
            ("AUTHUSERS_PORT", "9100"),
        ],
    );
    std::fs::remove_file(&file).unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    for secret in ["a-very-secret-jwt-key", "db-password", "smtp-password"] {
        assert!(!stdout.contains(secret), "{secret} printed: {stdout}");
    }
    for line in [
        "JWT_SECRET=***",
        "DATABASE_URL=postgres://app:***@db/users",
        "SMTP_URL=smtps://mailer:***@mail.example.com:465",
        "BCRYPT_COST=11",
        "MAIL_LANGUAGE=ru",
        // The environment wins over the file.
        "AUTHUSERS_PORT=9100",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "{line} missing: {stdout}"
        );
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `authusers serve` on `db` and a free port, with only `env` set besides,
/// once it answers; its standard error goes to `stderr`.
async fn serve(db: &TestDatabase, env: &[(&str, &str)], stderr: Stdio) -> (Child, u16) {
    serve_on(&db.url().to_string(), &["serve"], env, stderr).await
}

/// `authusers ARGS` (a `serve`) on the database at `url`, as [`serve`].
async fn serve_on(url: &str, args: &[&str], env: &[(&str, &str)], stderr: Stdio) -> (Child, u16) {
    let port = free_port();
    let child = Command::new(BINARY)
        .args(args)
        .current_dir(scratch_folder())
        .env_clear()
        .env("DATABASE_URL", url)
        .env("AUTHUSERS_PORT", port.to_string())
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start authusers serve");
    let health = format!("http://127.0.0.1:{port}/healthz");
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while client.get(&health).send().await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (child, port)
}

#[tokio::test]
async fn sigterm_during_a_slow_request_lets_it_finish() {
    let db = TestDatabase::sqlite();
    // A slow hash makes registration a slow request.
    let (mut child, port) = serve(&db, &[("BCRYPT_COST", "14")], Stdio::null()).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();

    let slow = tokio::spawn({
        let client = client.clone();
        let base = base.clone();
        async move {
            let started = tokio::time::Instant::now();
            let response = client
                .post(format!("{base}/auth/users/"))
                .json(&json!({"email": "ann@example.com", "password": "violet-kettle-93"}))
                .send()
                .await
                .expect("the in-flight request is answered");
            (response.status(), started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(killed.success());

    let (status, took) = slow.await.unwrap();
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        took > Duration::from_millis(150),
        "the request was not in flight"
    );
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

/// SIGTERM with `SHUTDOWN_DRAIN_SECONDS`: readiness fails at once, so that
/// a load balancer takes the server out; requests are still served (each
/// closing its connection) until the drain ends; then it stops by itself.
#[tokio::test]
async fn sigterm_fails_readiness_at_once_and_serves_through_the_drain() {
    let db = TestDatabase::sqlite();
    let drain = Duration::from_secs(3);
    let (mut child, port) = serve(&db, &[("SHUTDOWN_DRAIN_SECONDS", "3")], Stdio::null()).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert!(ready
        .headers()
        .get("connection")
        .is_none_or(|c| c != "close"));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(killed.success());
    let signalled = tokio::time::Instant::now();

    let mut readiness = client.get(format!("{base}/readyz")).send().await.unwrap();
    while readiness.status() == StatusCode::OK {
        assert!(
            signalled.elapsed() < Duration::from_secs(1),
            "readiness still passes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
        readiness = client.get(format!("{base}/readyz")).send().await.unwrap();
    }
    assert_eq!(readiness.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = readiness.json().await.unwrap();
    assert_eq!(body["code"], "not_ready");
    assert!(
        body["detail"].as_str().unwrap().contains("stopping"),
        "{body}"
    );

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let served = client.get(format!("{base}/healthz")).send().await;
    let served = served.expect("still serving inside the drain");
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["connection"], "close");

    let exit = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await
    .expect("the server stops after its drain")
    .unwrap()
    .unwrap();
    assert!(exit.success(), "{exit:?}");
    assert!(
        signalled.elapsed() >= drain,
        "stopped before the drain ended"
    );
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
}

/// `url` with `params` added to its query string.
fn with_params(url: &str, params: &str) -> String {
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{params}")
}

/// `url` naming its host twice, as a libpq multi-host URL.
fn twice_hosted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, path) = rest.split_once('/').expect("a database name");
    let (user, host) = authority
        .rsplit_once('@')
        .map_or(("", authority), |(u, h)| (u, h));
    let user = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    format!("{scheme}://{user}{host},{host}/{path}")
}

/// A PostgreSQL server that takes no writes (a standby; here, a session
/// made read-only), reached directly or through a libpq multi-host URL
/// asking for a read-write session that none of its hosts offers:
/// readiness says why, a write is 503 `unavailable` with `Retry-After`,
/// never a 500, and nothing is written.
#[tokio::test]
async fn a_database_that_takes_no_writes_is_not_ready_and_writes_are_503() {
    let Some(db) = TestDatabase::postgres() else {
        return;
    };
    db.connect().await;
    let read_only = "options=-c%20default_transaction_read_only%3Don";
    let url = db.url().to_string();
    for url in [
        with_params(&url, read_only),
        with_params(
            &twice_hosted(&url),
            &format!("target_session_attrs=read-write&{read_only}"),
        ),
    ] {
        let env = [
            ("BCRYPT_COST", "4"),
            ("DATABASE_CONNECT_TIMEOUT_SECONDS", "1"),
        ];
        let (child, port) = serve_on(&url, &["serve", "--no-migrate"], &env, Stdio::null()).await;
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let readiness = client
            .get(format!("{}/readyz", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(readiness.status(), StatusCode::SERVICE_UNAVAILABLE, "{url}");
        let body: serde_json::Value = readiness.json().await.unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains("takes no writes"),
            "{url}: {body}"
        );

        let registered = client
            .post(format!("{}/auth/users/", server.base))
            .json(&json!({"email": "ann@example.com", "password": "violet-kettle-93"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            registered.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "{url}"
        );
        assert!(registered.headers().contains_key("retry-after"), "{url}");
        let body: serde_json::Value = registered.json().await.unwrap();
        assert_eq!(body["code"], "unavailable", "{url}: {body}");
    }
    assert_eq!(db.number("SELECT count(*) AS value FROM users").await, 0);
}

#[test]
fn create_admin_takes_a_72_byte_password_and_refuses_73() {
    let db = TestDatabase::sqlite();
    let url = db.url().to_string();
    let create = |email: &str, password: &str| {
        run(
            &["create-admin", "--email", email],
            &[
                ("DATABASE_URL", url.as_str()),
                ("BCRYPT_COST", "4"),
                ("AUTHUSERS_ADMIN_PASSWORD", password),
            ],
        )
    };
    let longest = crate::registration::password_of(72, true);
    let created = create("root@example.com", &longest);
    assert!(created.status.success(), "{created:?}");
    let over = crate::registration::password_of(73, false);
    let refused = create("root2@example.com", &over);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("at most 72 bytes"), "{stderr}");
    assert!(!stderr.contains(&over), "the password was echoed");
}

/// Stops a server started with its standard error piped (SIGTERM) and
/// returns all it logged.
fn stopped_log(mut child: Child) -> String {
    use std::io::Read;
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("a piped standard error")
        .read_to_string(&mut log)
        .expect("read the log");
    child.wait().expect("the server ends");
    log
}

/// Asserts that a JSON log holds a warning mentioning `what` and no error.
fn assert_warned_never_failed(log: &str, what: &str) {
    let events: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    assert!(
        events.iter().all(|event| event["level"] != "ERROR"),
        "an error was logged: {log}"
    );
    assert!(
        events
            .iter()
            .any(|event| event["level"] == "WARN" && event.to_string().contains(what)),
        "no warning about {what}: {log}"
    );
}

/// A request that is not even HTTP is the client's fault: a warning in the
/// log, never an error.
#[tokio::test]
async fn a_malformed_request_is_a_warning_not_an_error() {
    use std::io::{Read, Write as _};
    let db = TestDatabase::sqlite();
    let settings = [("BCRYPT_COST", "4"), ("LOG_FORMAT", "json")];
    let (child, port) = serve(&db, &settings, Stdio::piped()).await;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        .unwrap();
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 400");
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = stopped_log(child);
    assert_warned_never_failed(&log, "malformed request");
}

/// A body cut off by `REQUEST_BODY_TIMEOUT_SECONDS` is the client's doing:
/// a warning in the log, never an error.
#[tokio::test]
async fn a_body_cut_off_by_its_deadline_is_a_warning() {
    use std::io::{Read, Write as _};
    let db = TestDatabase::sqlite();
    let settings = [
        ("BCRYPT_COST", "4"),
        ("LOG_FORMAT", "json"),
        ("REQUEST_BODY_TIMEOUT_SECONDS", "1"),
    ];
    let (child, port) = serve(&db, &settings, Stdio::piped()).await;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(
            b"POST /auth/jwt/create/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 60000\r\n\r\n{",
        )
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 408");
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = stopped_log(child);
    assert_warned_never_failed(&log, "request body not received in time");
}

/// The old service's signing key is used even when shorter than Django's
/// checks allow (it is its key), with one warning at start-up; a bridge
/// half configured is a configuration error.
#[tokio::test]
async fn a_short_legacy_signing_key_is_used_with_a_warning() {
    let db = TestDatabase::sqlite();
    let settings = [
        ("BCRYPT_COST", "4"),
        ("LOG_FORMAT", "json"),
        ("LEGACY_SIMPLEJWT_SIGNING_KEY", "short-old-key"),
        ("LEGACY_SIMPLEJWT_UNTIL", "2099-01-01T00:00:00Z"),
    ];
    let (child, _) = serve(&db, &settings, Stdio::piped()).await;
    let log = stopped_log(child);
    assert_warned_never_failed(&log, "LEGACY_SIMPLEJWT_SIGNING_KEY is shorter");
    let warnings = log
        .lines()
        .filter(|line| line.contains("LEGACY_SIMPLEJWT_SIGNING_KEY is shorter"))
        .count();
    assert_eq!(warnings, 1, "{log}");
    assert!(!log.contains("short-old-key"), "the key was logged: {log}");

    let half = run(
        &["serve"],
        &[("LEGACY_SIMPLEJWT_SIGNING_KEY", "a-key-without-an-end")],
    );
    assert_eq!(half.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&half.stderr);
    assert!(
        stderr.contains("LEGACY_SIMPLEJWT_UNTIL is required"),
        "{stderr}"
    );
}

const SECRET: &str = "a-secret-both-servers-share-0123456789";
const ADMIN: &str = "admin@example.com";
const ADMIN_PASSWORD: &str = "tangerine-orbit-77";

/// A server process, stopped when the test ends, however it ends.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The administrator, created with the binary, and a server on `db`
/// sharing `SECRET`.
async fn server_with_admin(db: &TestDatabase) -> Server {
    let url = db.url().to_string();
    let created = run(
        &["create-admin", "--email", ADMIN],
        &[
            ("DATABASE_URL", url.as_str()),
            ("BCRYPT_COST", "4"),
            ("AUTHUSERS_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
    );
    assert!(created.status.success(), "{created:?}");
    another_server(db).await
}

async fn another_server(db: &TestDatabase) -> Server {
    let env = [("BCRYPT_COST", "4"), ("JWT_SECRET", SECRET)];
    let (child, port) = serve(db, &env, Stdio::null()).await;
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn post(
    server: &Server,
    path: &str,
    body: serde_json::Value,
    token: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", server.base))
        .header("User-Agent", "ops-laptop")
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn log_in(server: &Server, password: &str) -> (String, String) {
    let response = post(
        server,
        "/auth/jwt/create/",
        json!({"email": ADMIN, "password": password}),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let pair: serde_json::Value = response.json().await.unwrap();
    (
        pair["access"].as_str().unwrap().to_owned(),
        pair["refresh"].as_str().unwrap().to_owned(),
    )
}

async fn me(server: &Server, access: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{}/auth/users/me/", server.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .status()
}

/// Two `authusers serve` processes on one database: what one ends, the
/// other refuses on the very next request, with nothing cached in between.
async fn what_one_server_ends_the_other_refuses_on_the_next_request(db: &TestDatabase) {
    let first = server_with_admin(db).await;
    let second = another_server(db).await;
    let (on_first, _) = log_in(&first, ADMIN_PASSWORD).await;
    let (on_second, _) = log_in(&second, ADMIN_PASSWORD).await;
    assert_eq!(me(&second, &on_first).await, StatusCode::OK);
    assert_eq!(me(&first, &on_second).await, StatusCode::OK);

    let changed = post(
        &first,
        "/auth/users/set_password/",
        json!({"current_password": ADMIN_PASSWORD, "new_password": "quartz-lantern-61"}),
        Some(&on_first),
    )
    .await;
    assert_eq!(changed.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(&second, &on_first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&second, &on_second).await, StatusCode::UNAUTHORIZED);

    let (access, refresh) = log_in(&second, "quartz-lantern-61").await;
    let logged_out = post(
        &first,
        "/auth/jwt/blacklist/",
        json!({"refresh": refresh}),
        None,
    )
    .await;
    assert_eq!(logged_out.status(), StatusCode::OK);
    assert_eq!(me(&second, &access).await, StatusCode::UNAUTHORIZED);
}

/// `authusers sessions --user EMAIL` lists a user's open sessions;
/// `--end-all` ends them, and every server refuses their tokens.
async fn an_operator_lists_and_ends_a_users_sessions(db: &TestDatabase) {
    let server = server_with_admin(db).await;
    let (first, _) = log_in(&server, ADMIN_PASSWORD).await;
    let (second, _) = log_in(&server, ADMIN_PASSWORD).await;
    let url = db.url().to_string();
    let sessions = |args: &[&str]| {
        let mut all = vec!["sessions", "--user"];
        all.extend_from_slice(args);
        run(&all, &[("DATABASE_URL", url.as_str())])
    };

    let listed = sessions(&["Admin@EXAMPLE.com"]);
    assert!(listed.status.success(), "{listed:?}");
    let stdout = String::from_utf8_lossy(&listed.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0], "2 open session(s) of admin@example.com",
        "{stdout}"
    );
    assert_eq!(lines.len(), 3, "{stdout}");
    for line in &lines[1..] {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 6, "{line}");
        assert!(fields[0].len() == 32 && fields[0].bytes().all(|b| b.is_ascii_hexdigit()));
        for (field, name) in fields[1..4]
            .iter()
            .zip(["created=", "last_used=", "expires="])
        {
            let at = field.strip_prefix(name).unwrap_or_else(|| panic!("{line}"));
            assert!(
                chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'),
                "{line}"
            );
        }
        assert_eq!(
            fields[4..],
            ["address=127.0.0.1", "user_agent=\"ops-laptop\""]
        );
    }

    let ended = sessions(&[ADMIN, "--end-all"]);
    assert!(ended.status.success(), "{ended:?}");
    assert_eq!(
        String::from_utf8_lossy(&ended.stdout).trim(),
        "ended 2 session(s) of admin@example.com"
    );
    assert_eq!(me(&server, &first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&server, &second).await, StatusCode::UNAUTHORIZED);
    let none = sessions(&[ADMIN]);
    assert_eq!(
        String::from_utf8_lossy(&none.stdout).trim(),
        "0 open session(s) of admin@example.com"
    );

    for (user, message) in [
        (
            "nobody@example.com",
            "no user has the e-mail address nobody@example.com",
        ),
        ("not an address", "is not an e-mail address"),
    ] {
        let refused = sessions(&[user]);
        assert_eq!(refused.status.code(), Some(1), "{refused:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.starts_with("authusers: ") && stderr.contains(message),
            "{stderr}"
        );
    }
}

/// Two `authusers serve` processes on one database count one account's
/// failures together: five on each, and the next, on either, is refused.
async fn two_servers_share_the_count_of_failed_logins(db: &TestDatabase) {
    let first = server_with_admin(db).await;
    let second = another_server(db).await;
    async fn attempt(server: &Server, password: &str) -> reqwest::Response {
        let credentials = json!({"email": ADMIN, "password": password});
        post(server, "/auth/jwt/create/", credentials, None).await
    }
    for server in [
        &first, &second, &first, &second, &first, &second, &first, &second, &first, &second,
    ] {
        let failed = attempt(server, "wrong-password-1").await;
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    }
    for server in [&first, &second] {
        let refused = attempt(server, ADMIN_PASSWORD).await;
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers().contains_key("retry-after"));
    }
}

/// A `PATCH /balance/` applied by a server that then died (SIGKILL),
/// repeated with its Idempotency-Key through another server, as a client
/// behind a load balancer does: answered from the first outcome, applied
/// once.
async fn a_write_repeated_on_another_server_after_its_server_died_is_applied_once(
    db: &TestDatabase,
) {
    let mut first = server_with_admin(db).await;
    let second = another_server(db).await;
    let (access, _) = log_in(&first, ADMIN_PASSWORD).await;
    let key = "repeated-after-a-crash-1";
    let body = json!({"action": "in", "value_type": "real", "value": "12.34"});
    let patch = |server: &Server| {
        reqwest::Client::new()
            .patch(format!("{}/balance/", server.base))
            .bearer_auth(&access)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let applied = patch(&first).await.unwrap();
    assert_eq!(applied.status(), StatusCode::OK);
    let applied: serde_json::Value = applied.json().await.unwrap();
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let repeated = patch(&second).await.unwrap();
    assert_eq!(repeated.status(), StatusCode::OK);
    assert_eq!(repeated.headers()["idempotent-replayed"], "true");
    let repeated: serde_json::Value = repeated.json().await.unwrap();
    assert_eq!(repeated, applied);
    let entries = format!(
        "SELECT count(*) AS value FROM balance_transactions WHERE idempotency_key = '{key}'"
    );
    assert_eq!(db.number(&entries).await, 1);
    let balance = "SELECT real_balance_cents AS value FROM users WHERE email = 'admin@example.com'";
    assert_eq!(db.number(balance).await, 1234);
}

on_both_backends!(
    a_write_repeated_on_another_server_after_its_server_died_is_applied_once,
    two_servers_share_the_count_of_failed_logins,
    what_one_server_ends_the_other_refuses_on_the_next_request,
    an_operator_lists_and_ends_a_users_sessions,
);

/// A key file that cannot sign stops every command with one line that
/// names the file, never its content, and exit code 2.
#[test]
fn a_key_file_that_cannot_sign_is_one_line_naming_it_and_exit_code_2() {
    let folder = scratch_folder();
    let path = |name: &str| folder.join(name).display().to_string();
    let generate = |name: &str, algorithm: &str| {
        let output = run(
            &[
                "keys",
                "generate",
                "--algorithm",
                algorithm,
                "--out",
                &path(name),
            ],
            &[],
        );
        assert!(output.status.success(), "{output:?}");
        std::fs::read_to_string(folder.join(name)).unwrap()
    };
    let ed25519 = generate("ed25519.pem", "EdDSA");
    generate("p256.pem", "ES256");
    let body = |pem: &str| pem.lines().nth(1).unwrap().to_owned();
    std::fs::write(
        folder.join("public.pem"),
        ed25519.replace("PRIVATE KEY", "PUBLIC KEY"),
    )
    .unwrap();
    std::fs::write(folder.join("garbage.pem"), "jwt-secret-in-the-wrong-file\n").unwrap();
    // The environment, what the line says, and what it must not show.
    type Case<'a> = (Vec<(&'a str, String)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("JWT_PRIVATE_KEY_FILE", path("missing.pem"))],
            "missing.pem: cannot be read",
            "",
        ),
        (
            vec![("JWT_PRIVATE_KEY_FILE", folder.display().to_string())],
            "cannot be read",
            "",
        ),
        (
            vec![("JWT_PRIVATE_KEY_FILE", path("garbage.pem"))],
            "garbage.pem: is not a PEM file",
            "jwt-secret-in-the-wrong-file",
        ),
        (
            vec![("JWT_PRIVATE_KEY_FILE", path("public.pem"))],
            "public.pem: holds a public key or certificate",
            "",
        ),
        (
            vec![
                ("JWT_ALGORITHM", "EdDSA".into()),
                ("JWT_PRIVATE_KEY_FILE", path("p256.pem")),
            ],
            "p256.pem: holds a P-256 (prime256v1) EC key, but JWT_ALGORITHM=EdDSA needs an Ed25519 key",
            "",
        ),
        (
            vec![
                ("JWT_PRIVATE_KEY_FILE", path("ed25519.pem")),
                ("JWT_PREVIOUS_KEY_FILES", path("gone.pem")),
            ],
            "JWT_PREVIOUS_KEY_FILES: ",
            "",
        ),
        (
            vec![
                ("JWT_PRIVATE_KEY_FILE", path("ed25519.pem")),
                ("JWT_PREVIOUS_KEY_FILES", path("ed25519.pem")),
            ],
            "is listed twice",
            "",
        ),
        (
            vec![
                ("JWT_ALGORITHM", "HS256".into()),
                ("JWT_SECRET", "s".repeat(40)),
                ("JWT_PRIVATE_KEY_FILE", path("ed25519.pem")),
            ],
            "JWT_PRIVATE_KEY_FILE is for EdDSA, ES256 and RS256",
            "",
        ),
    ];
    for (env, expected, hidden) in cases {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for command in [&["serve"][..], &["config"], &["keys", "jwks"]] {
            let output = run(command, &env);
            assert_eq!(output.status.code(), Some(2), "{env:?} {command:?}");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(
                stderr.starts_with("authusers: configuration error: ") && stderr.contains(expected),
                "{stderr}"
            );
            for content in [body(&ed25519), hidden.to_owned()] {
                assert!(content.is_empty() || !stderr.contains(&content), "{stderr}");
            }
        }
    }
    std::fs::remove_dir_all(folder).unwrap();
}

#[test]
fn production_refuses_to_start_without_a_key_or_a_secret() {
    let env = [
        ("AUTHUSERS_ENV", "production"),
        (
            "PASSWORD_RESET_URL",
            "https://app.example.com/reset/{uid}/{token}",
        ),
        ("MFA_SECRET_KEY", crate::helpers::TEST_MFA_KEY),
    ];
    let output = run(&["serve"], &env);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("JWT_PRIVATE_KEY_FILE is required when AUTHUSERS_ENV=production"));
    let algorithm_only = run(
        &["serve"],
        &[env[0], env[1], env[2], ("JWT_ALGORITHM", "ES256")],
    );
    assert_eq!(algorithm_only.status.code(), Some(2));
}

/// `keys generate` writes a private file and never replaces one; `keys
/// jwks` prints what `serve` publishes.
#[tokio::test]
async fn keys_generate_and_jwks_agree_with_what_serve_publishes() {
    let folder = scratch_folder();
    let key = folder.join("signing.pem");
    let key_path = key.display().to_string();
    let generate = |algorithm: &str| {
        run(
            &[
                "keys",
                "generate",
                "--algorithm",
                algorithm,
                "--out",
                &key_path,
            ],
            &[],
        )
    };
    let written = generate("ES256");
    assert!(written.status.success(), "{written:?}");
    assert_eq!(
        String::from_utf8_lossy(&written.stdout).trim(),
        format!("wrote a new ES256 private key to {key_path}")
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&key).unwrap();
    let again = generate("EdDSA");
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&key).unwrap(), before, "the key is untouched");
    let hs256 = generate("HS256");
    assert_eq!(hs256.status.code(), Some(2), "clap refuses it");

    let env = [("JWT_PRIVATE_KEY_FILE", key_path.as_str())];
    let printed = run(&["keys", "jwks"], &env);
    assert!(printed.status.success(), "{printed:?}");
    let printed: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(printed["keys"][0]["alg"], "ES256");

    let db = TestDatabase::sqlite();
    let (mut server, port) = serve(&db, &env, Stdio::null()).await;
    let served: serde_json::Value =
        reqwest::get(format!("http://127.0.0.1:{port}/.well-known/jwks.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(served, printed);
    std::fs::remove_dir_all(folder).unwrap();
}

/// Development without a key: the first run writes one into `var/` of the
/// working directory, readable by its owner only; later runs reuse it, so
/// tokens survive a restart.
#[test]
fn development_generates_its_key_once_and_reuses_it() {
    let folder = scratch_folder();
    let jwks = || {
        let output = Command::new(BINARY)
            .args(["keys", "jwks"])
            .current_dir(&folder)
            .env_clear()
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let first = jwks();
    let key = folder.join("var/jwt-eddsa.pem");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(first["keys"][0]["alg"], "EdDSA");
    let written = std::fs::read(&key).unwrap();
    assert_eq!(jwks(), first, "the same key after a restart");
    assert_eq!(std::fs::read(&key).unwrap(), written);
    std::fs::remove_dir_all(folder).unwrap();
}
