//! `make bench`: throughput and latency of the service over real HTTP on
//! SQLite and, when available, PostgreSQL. Prints one line per scenario.
//!
//! Scenarios: balance changes from many concurrent clients on one user (the
//! serialised hot path), profile reads, and exact money parsing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authusers_api_actix::config::Settings;
use authusers_api_actix::startup::{Application, Migrations};
use authusers_domain::accounts::CreateAdminRequest;
use authusers_domain::Amount;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_diesel::DatabaseConfig;
use serde_json::{json, Value};

const CLIENTS: usize = 32;
const REQUESTS: usize = 2_000;

struct Report {
    name: String,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

impl Report {
    fn print(mut self) {
        self.latencies.sort_unstable();
        let at = |q: f64| {
            let index = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
            self.latencies[index].as_secs_f64() * 1_000.0
        };
        println!(
            "{:<44} {:>8.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} requests, {} clients)",
            self.name,
            self.latencies.len() as f64 / self.elapsed.as_secs_f64(),
            at(0.5),
            at(0.99),
            self.latencies.len(),
            CLIENTS
        );
    }
}

async fn start(db: &TestDatabase) -> (String, String) {
    let secret = "bench-secret-bench-secret-bench-secret";
    let mut settings = Settings::from_lookup(|name| (name == "JWT_SECRET").then(|| secret.into()))
        .expect("default settings");
    settings.port = 0;
    settings.bcrypt_cost = 4;
    settings.database = DatabaseConfig::new(db.url().clone());
    let app = Application::build(&settings, Migrations::Apply)
        .await
        .expect("the application starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    app.accounts()
        .create_admin(CreateAdminRequest {
            email: "bench@example.com".into(),
            password: "tangerine-orbit-77".into(),
        })
        .await
        .expect("an administrator");
    tokio::spawn(app.run_until_stopped());
    let pair: Value = reqwest::Client::new()
        .post(format!("{base}/auth/jwt/create/"))
        .json(&json!({"email": "bench@example.com", "password": "tangerine-orbit-77"}))
        .send()
        .await
        .expect("log in")
        .json()
        .await
        .expect("tokens");
    let token = pair["access"].as_str().expect("an access token").to_owned();
    (base, token)
}

/// `REQUESTS` requests from `CLIENTS` concurrent clients.
async fn load(
    name: String,
    make: Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync>,
) -> Report {
    let started = Instant::now();
    let per_client = REQUESTS / CLIENTS;
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let make = Arc::clone(&make);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let sent = Instant::now();
                    let response = make(client * per_client + i)
                        .send()
                        .await
                        .expect("a response");
                    assert!(response.status().is_success(), "{}", response.status());
                    response.bytes().await.expect("a body");
                    latencies.push(sent.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(REQUESTS);
    for task in tasks {
        latencies.extend(task.await.expect("a client"));
    }
    Report {
        name,
        latencies,
        elapsed: started.elapsed(),
    }
}

async fn scenarios(backend: &str, db: TestDatabase) {
    let (base, token) = start(&db).await;
    let client = reqwest::Client::new();

    let (c, b, t) = (client.clone(), base.clone(), token.clone());
    load(
        format!("{backend}: PATCH /balance/ (in, one user)"),
        Arc::new(move |_| {
            c.patch(format!("{b}/balance/"))
                .bearer_auth(&t)
                .json(&json!({"action": "in", "value_type": "real", "value": "1.25"}))
        }),
    )
    .await
    .print();

    let (c, b, t) = (client.clone(), base.clone(), token.clone());
    load(
        format!("{backend}: PATCH /balance/ (idempotent, new keys)"),
        Arc::new(move |i| {
            c.patch(format!("{b}/balance/"))
                .bearer_auth(&t)
                .header("Idempotency-Key", format!("bench-{i}"))
                .json(&json!({"action": "convert", "value": "0.10"}))
        }),
    )
    .await
    .print();

    let (c, b, t) = (client, base, token);
    load(
        format!("{backend}: GET /auth/users/me/"),
        Arc::new(move |_| c.get(format!("{b}/auth/users/me/")).bearer_auth(&t)),
    )
    .await
    .print();
}

fn money_parsing() {
    let inputs = [
        "1000",
        "10.5",
        "0.01",
        "999999999.99",
        "1e3",
        "12.345",
        "NaN",
    ];
    let rounds = 200_000;
    let started = Instant::now();
    let mut accepted = 0usize;
    for round in 0..rounds {
        accepted += usize::from(Amount::parse(inputs[round % inputs.len()]).is_ok());
    }
    let elapsed = started.elapsed();
    println!(
        "{:<44} {:>8.0} ns/parse ({} parsed, {} accepted)",
        "Amount::parse",
        elapsed.as_nanos() as f64 / rounds as f64,
        rounds,
        accepted
    );
}

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no options.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        scenarios("sqlite", TestDatabase::sqlite()).await;
        match TestDatabase::postgres() {
            Some(db) => scenarios("postgres", db).await,
            None => println!("postgres: skipped (AUTHUSERS_TEST_POSTGRES_URL is not set)"),
        }
    });
    money_parsing();
}
