//! What operators and frontend developers rely on: the OpenAPI document,
//! health and readiness, metrics, request ids and CORS.

use std::collections::BTreeSet;

use authusers_api_actix::app::config::{AllowedOrigins, Secret};
use authusers_api_actix::app::routes::{endpoint_list, CONSOLE_PREFIX};
use authusers_infra_diesel::on_both_backends;
use authusers_infra_diesel::test_support::TestDatabase;
use authusers_infra_diesel::Backend;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::TestApp;

/// `(METHOD, path)` with the trailing slash dropped, so that `/healthz` and
/// the registered `/healthz/` compare equal.
fn normalised(method: &str, path: &str) -> (String, String) {
    let path = path.strip_suffix('/').unwrap_or(path);
    (method.to_ascii_uppercase(), path.to_owned())
}

fn collect_references(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                into.push(reference.clone());
            }
            map.values().for_each(|v| collect_references(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_references(v, into)),
        _ => {}
    }
}

async fn the_openapi_document_describes_every_route(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let response = app.request(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(document["components"]["securitySchemes"]["bearer"].is_object());
    assert!(document["components"]["schemas"]["ProblemBody"].is_object());

    let documented: BTreeSet<(String, String)> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|key| ["get", "post", "put", "patch", "delete"].contains(&key.as_str()))
                .map(move |method| normalised(method, path))
                .collect::<Vec<_>>()
        })
        .collect();
    // The console's pages are for people, not part of the API.
    let served: BTreeSet<(String, String)> = endpoint_list()
        .iter()
        .filter(|(_, path)| !path.starts_with(CONSOLE_PREFIX))
        .map(|(method, path)| normalised(method, path))
        .collect();
    let mut operation_ids: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|operation| operation["operationId"].as_str())
        .collect();
    let count = operation_ids.len();
    operation_ids.sort_unstable();
    operation_ids.dedup();
    assert_eq!(
        operation_ids.len(),
        count,
        "operation ids repeat: {operation_ids:?}"
    );
    assert_eq!(count, documented.len(), "an operation has no id");

    let mut references = Vec::new();
    collect_references(&document, &mut references);
    assert!(!references.is_empty());
    for reference in references {
        let name = reference.trim_start_matches("#/components/schemas/");
        assert!(
            document["components"]["schemas"][name].is_object(),
            "{reference} points nowhere"
        );
    }

    let undocumented: Vec<_> = served.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from /openapi.json: {undocumented:?}"
    );
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );

    // Every documented operation answers something other than 404/405
    // (`/metrics` is 404 where it is not served: see below).
    for (method, path) in documented.iter().filter(|(_, path)| path != "/metrics") {
        let path = format!(
            "{}/",
            path.replace("{id}", "1")
                .replace("{file}", "swagger-ui.css")
        );
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let status = app
            .request(method.clone(), &path, Some(json!({})), None)
            .await
            .status();
        assert!(
            status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {status}"
        );
    }
}

/// The documentation page is Swagger UI from this origin: every file it
/// names is served here, its policy lets it load nothing from elsewhere,
/// and it reads this service's own document, which names the contract's
/// routes.
async fn the_docs_page_needs_no_network(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let response = app.request(Method::GET, "/docs/", None, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self';",
        "connect-src 'self';",
    ] {
        assert!(policy.contains(directive), "{directive} missing: {policy}");
    }
    assert!(!policy.contains("http"), "a host elsewhere: {policy}");
    let page = response.text().await.unwrap();
    let named: Vec<&str> = [" src=\"", " href=\""]
        .into_iter()
        .flat_map(|attribute| page.split(attribute).skip(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(named.len() >= 3, "{page}");
    for name in named {
        assert!(!name.contains("//"), "{name} is elsewhere");
        let path = format!("/docs/{}", name.trim_start_matches("./"));
        let file = app.request(Method::GET, &path, None, None).await;
        assert_eq!(file.status(), StatusCode::OK, "{path}");
    }
    let missing = app
        .request(Method::GET, "/docs/nothing-here.js", None, None)
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let initializer = app
        .request(Method::GET, "/docs/swagger-initializer.js", None, None)
        .await
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("\"/openapi.json\""), "{initializer}");
    let document = app
        .request(Method::GET, "/openapi.json", None, None)
        .await
        .text()
        .await
        .unwrap();
    for expected in [
        "/auth/jwt/create/",
        "/confirm-users/{id}/",
        "/balance/",
        "ProblemBody",
    ] {
        assert!(
            document.contains(expected),
            "{expected} missing from the document"
        );
    }
}

async fn health_and_readiness_flip_when_the_database_goes_away(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    for path in ["/healthz", "/readyz"] {
        let response = app.request(Method::GET, path, None, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    db.forget_latest_migration().await;
    let pending = app.request(Method::GET, "/readyz", None, None).await;
    let body =
        crate::helpers::assert_problem(pending, StatusCode::SERVICE_UNAVAILABLE, "not_ready").await;
    assert!(body["detail"].as_str().unwrap().contains("pending"));
    if db.take_away() {
        let gone = app.request(Method::GET, "/readyz", None, None).await;
        crate::helpers::assert_problem(gone, StatusCode::SERVICE_UNAVAILABLE, "not_ready").await;
    }
    let alive = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(alive.status(), StatusCode::OK);
}

async fn metrics_show_requests_by_route_template(db: &TestDatabase) {
    let app = TestApp::spawn_with(db, |settings| {
        settings.metrics.token = Some(Secret::new("metrics-token".into()));
    })
    .await;
    let admin = app.admin_token().await;
    assert_eq!(
        app.get("/auth/users/me/", &admin).await.status(),
        StatusCode::OK
    );
    let missing = app
        .patch(
            "/confirm-users/424242/",
            json!({"action": "accept"}),
            &admin,
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let response = app.get("/metrics", "metrics-token").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    let has = |needle: &str| text.lines().any(|line| line.starts_with(needle));
    assert!(
        has(r#"authusers_http_requests_total{method="GET",route="/auth/users/me/",status="200"} "#),
        "{text}"
    );
    assert!(has(
        r#"authusers_http_requests_total{method="PATCH",route="/confirm-users/{id}/",status="404"} "#
    ));
    assert!(!text.contains("424242"), "a raw path reached the metrics");
    assert!(has(
        r#"authusers_http_request_duration_seconds_bucket{method="GET",route="/auth/users/me/""#
    ));
    for gauge in [
        "authusers_db_pool_max_connections 8",
        "authusers_db_pool_connections_in_use ",
        "authusers_db_pool_waiting ",
        "authusers_outbox_pending_messages 0",
        "authusers_mail_sent_total ",
        "authusers_log_lines_dropped_total ",
    ] {
        assert!(has(gauge), "{gauge} missing");
    }
    // The registrations and decisions above were written by SQLite's one
    // writing connection, each in a committed group.
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    let (commits, writes) = (
        value("authusers_sqlite_write_commits_total "),
        value("authusers_sqlite_writes_total "),
    );
    if db.url().backend() == Backend::Sqlite {
        let (commits, writes) = (commits.unwrap(), writes.unwrap());
        assert!(commits >= 1 && writes >= commits, "{commits} {writes}");
    } else {
        assert_eq!((commits, writes), (Some(0), Some(0)));
    }
}

async fn request_ids_are_returned_and_kept(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let generated = app.request(Method::GET, "/healthz", None, None).await;
    let id = generated.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 36, "{id}");
    let kept = app
        .client
        .get(format!("{}/healthz", app.address))
        .header("X-Request-Id", "frontend-7f3a")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "frontend-7f3a");
}

async fn cors_admits_configured_origins_only(db: &TestDatabase) {
    let app = TestApp::spawn_with(db, |settings| {
        settings.cors = AllowedOrigins::List(vec!["https://app.example.com".into()]);
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, format!("{}/auth/jwt/create/", app.address))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let refused = preflight("https://evil.example.com").await.unwrap();
    assert!(!refused
        .headers()
        .contains_key("access-control-allow-origin"));
}

on_both_backends!(
    the_document_states_every_rule_it_can,
    metrics_are_not_public,
    odd_request_ids_are_replaced,
    the_openapi_document_describes_every_route,
    the_docs_page_needs_no_network,
    health_and_readiness_flip_when_the_database_goes_away,
    metrics_show_requests_by_route_template,
    request_ids_are_returned_and_kept,
    cors_admits_configured_origins_only,
);

/// A client's request id is kept only when it is a plain token: letters,
/// digits, `-`, `_` and `.`, at most 64 of them.
async fn odd_request_ids_are_replaced(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let returned = |id: String| {
        let request = app
            .client
            .get(format!("{}/healthz", app.address))
            .header("X-Request-Id", id);
        async move {
            let response = request.send().await.unwrap();
            response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    let longest = "a".repeat(64);
    assert_eq!(returned(longest.clone()).await, longest);
    assert_eq!(returned("web-1.req_7f3A".into()).await, "web-1.req_7f3A");
    for odd in [
        "a".repeat(65),
        "id\"><script>".into(),
        "id with spaces".into(),
        "id;drop".into(),
        "id{x}".into(),
    ] {
        let replaced = returned(odd.clone()).await;
        assert_ne!(replaced, odd);
        assert_eq!(replaced.len(), 36, "{replaced}");
    }
}

/// `/metrics` shows login failures and mail volumes: nobody reads it on the
/// API's address without `METRICS_TOKEN`, and `METRICS_ADDRESS` serves it
/// on an address of its own instead.
async fn metrics_are_not_public(db: &TestDatabase) {
    let hidden = TestApp::spawn(db).await;
    let response = hidden.request(Method::GET, "/metrics", None, None).await;
    crate::helpers::assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    drop(hidden);

    let token = "a-metrics-token-of-some-length";
    let guarded = TestApp::spawn_with(db, |settings| {
        settings.metrics.token = Some(Secret::new(token.into()));
    })
    .await;
    let anonymous = guarded.request(Method::GET, "/metrics", None, None).await;
    crate::helpers::assert_problem(anonymous, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    let wrong = guarded
        .get("/metrics", "a-metrics-token-of-some-lengtH")
        .await;
    crate::helpers::assert_problem(wrong, StatusCode::UNAUTHORIZED, "token_not_valid").await;
    let right = guarded.get("/metrics", token).await;
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right
        .text()
        .await
        .unwrap()
        .contains("authusers_http_requests_total"));
    drop(guarded);

    let separate = TestApp::spawn_with(db, |settings| {
        settings.metrics.address = Some("127.0.0.1:0".into());
    })
    .await;
    let on_the_api = separate.request(Method::GET, "/metrics", None, None).await;
    assert_eq!(on_the_api.status(), StatusCode::NOT_FOUND);
    let metrics_address = separate.metrics_address.clone().expect("a metrics address");
    let own = separate
        .client
        .get(format!("{metrics_address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
    assert!(own
        .text()
        .await
        .unwrap()
        .contains("authusers_db_pool_max_connections"));
    // Only metrics there.
    let api = separate
        .client
        .get(format!("{metrics_address}/auth/users/"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
}

/// What schemathesis found the document missing: every body route
/// documents 400, 413 and 415; bodies refuse extra properties; closed sets
/// are enums; paging bounds and the idempotency key's shape are stated.
async fn the_document_states_every_rule_it_can(db: &TestDatabase) {
    let app = TestApp::spawn(db).await;
    let document: Value = app
        .request(Method::GET, "/openapi.json", None, None)
        .await
        .json()
        .await
        .unwrap();
    let schemas = &document["components"]["schemas"];
    let resolve = |schema: &Value| -> Value {
        match schema["$ref"].as_str() {
            Some(reference) => {
                schemas[reference.trim_start_matches("#/components/schemas/")].clone()
            }
            None => schema.clone(),
        }
    };
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(body) = operation.get("requestBody") else {
                continue;
            };
            for status in ["400", "413", "415"] {
                assert!(
                    operation["responses"][status].is_object(),
                    "{method} {path} does not document {status}"
                );
            }
            let json_schema = resolve(&body["content"]["application/json"]["schema"]);
            assert_eq!(
                json_schema["additionalProperties"],
                json!(false),
                "{method} {path} takes extra properties"
            );
        }
    }
    let enum_of = |schema: &str, property: &str| -> Value {
        let property = &schemas[schema]["properties"][property];
        let resolved = match property["$ref"].as_str() {
            Some(_) => resolve(property),
            None => property["oneOf"]
                .as_array()
                .and_then(|options| options.iter().find(|o| o.get("$ref").is_some()))
                .map(resolve)
                .unwrap_or_else(|| property.clone()),
        };
        resolved["enum"].clone()
    };
    assert_eq!(
        enum_of("DecisionBody", "action"),
        json!(["accept", "reject"])
    );
    assert_eq!(
        enum_of("BalanceChangeBody", "action"),
        json!(["in", "out", "convert"])
    );
    assert_eq!(
        enum_of("BalanceChangeBody", "value_type"),
        json!(["real", "virtual"])
    );

    let parameter = |path: &str, method: &str, name: &str| -> Value {
        document["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["schema"].clone())
            .unwrap_or_default()
    };
    for path in ["/confirm-users/", "/auth/users/", "/balance/transactions/"] {
        let limit = parameter(path, "get", "limit");
        assert_eq!(
            (limit["minimum"].as_f64(), limit["maximum"].as_f64()),
            (Some(1.0), Some(500.0)),
            "{path}"
        );
        let offset = parameter(path, "get", "offset");
        assert_eq!(offset["maximum"].as_f64(), Some(1_000_000_000.0), "{path}");
    }
    let key = parameter("/balance/", "patch", "Idempotency-Key");
    assert_eq!(key["maxLength"], 255);
    assert_eq!(key["pattern"], "^[!-~]{1,255}$");
}
