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

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BINARY)
        .args(args)
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
    // The URL, the cost, and production's JWT_SECRET and PASSWORD_RESET_URL.
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(lines
        .iter()
        .all(|l| l.starts_with("authusers: configuration error: ")));
    assert!(lines
        .iter()
        .any(|l| l.contains("PASSWORD_RESET_URL is required")));
    assert!(!stderr.contains("panicked"));
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
    let port = free_port();
    let child = Command::new(BINARY)
        .arg("serve")
        .env_clear()
        .env("DATABASE_URL", db.url().to_string())
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

/// A request that is not even HTTP is the client's fault: a warning in the
/// log, never an error.
#[tokio::test]
async fn a_malformed_request_is_a_warning_not_an_error() {
    use std::io::{Read, Write as _};
    let db = TestDatabase::sqlite();
    let settings = [("BCRYPT_COST", "4"), ("LOG_FORMAT", "json")];
    let (mut child, port) = serve(&db, &settings, Stdio::piped()).await;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
        .unwrap();
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 400");
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    child.wait().unwrap();
    let levels: Vec<(String, String)> = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .map(|event| {
            (
                event["level"].as_str().unwrap_or_default().to_owned(),
                event.to_string(),
            )
        })
        .collect();
    assert!(
        levels.iter().all(|(level, _)| level != "ERROR"),
        "an error was logged: {stderr}"
    );
    assert!(
        levels
            .iter()
            .any(|(level, line)| level == "WARN" && line.contains("malformed request")),
        "no warning: {stderr}"
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

on_both_backends!(
    two_servers_share_the_count_of_failed_logins,
    what_one_server_ends_the_other_refuses_on_the_next_request,
    an_operator_lists_and_ends_a_users_sessions,
);
