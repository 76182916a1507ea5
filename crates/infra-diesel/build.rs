//! Whether this build's tests have a PostgreSQL server: without one, the
//! PostgreSQL half of `on_both_backends!` is built as an ignored test, so
//! that the test output says it was skipped instead of reporting it passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(authusers_postgres_tests)");
    println!("cargo::rerun-if-env-changed=AUTHUSERS_TEST_POSTGRES_URL");
    let configured = std::env::var("AUTHUSERS_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty());
    if configured {
        println!("cargo::rustc-cfg=authusers_postgres_tests");
    }
}
