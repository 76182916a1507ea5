//! A test as a crate built on `authusers-domain` writes it: its own code
//! drives the domain's `Accounts`, whose ports are the mocks and fixtures
//! of the `mocks` feature (`authusers_domain::testing`). Nothing here
//! reaches into the crate's private parts.

use std::net::{IpAddr, Ipv4Addr};

use authusers_domain::accounts::{Accounts, LoginError, LoginRequest};
use authusers_domain::testing::{user, Ports};
use authusers_domain::throttling::ClientAddress;
use authusers_domain::{User, UserStatus};

/// The downstream code under test: a kiosk that signs a user in and
/// greets them, or says why not.
async fn greet(accounts: &Accounts, email: &str, password: &str) -> String {
    let request = LoginRequest {
        email: email.to_owned(),
        password: password.to_owned(),
        client: ClientAddress::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))),
    };
    match accounts.log_in(request).await {
        Ok(user) => format!("Hello, {}!", user.first_name),
        Err(LoginError::AccountPending) => "Your registration is waiting.".to_owned(),
        Err(_) => "Sorry, no.".to_owned(),
    }
}

/// Ports where user 2, as `stored`, has the password "right".
fn ports_where_user_2_is(stored: User) -> Ports {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find_by_email()
        .withf(|email| email.as_str() == "user2@example.com")
        .returning(move |_| Ok(Some(stored.clone())));
    ports
        .hasher
        .expect_verify()
        .returning(|candidate, _| Ok(candidate == "right"));
    ports.hasher.expect_needs_rehash().return_const(false);
    ports
}

#[tokio::test]
async fn an_approved_user_with_the_right_password_is_greeted_by_name() {
    let accounts = ports_where_user_2_is(user(2, UserStatus::Approved)).into_accounts();
    assert_eq!(
        greet(&accounts, "user2@example.com", "right").await,
        "Hello, Ada!"
    );
}

#[tokio::test]
async fn a_wrong_password_is_refused_without_saying_more() {
    let accounts = ports_where_user_2_is(user(2, UserStatus::Approved)).into_accounts();
    assert_eq!(
        greet(&accounts, "user2@example.com", "wrong").await,
        "Sorry, no."
    );
}

#[tokio::test]
async fn a_pending_registration_is_told_to_wait() {
    let accounts = ports_where_user_2_is(user(2, UserStatus::Pending)).into_accounts();
    assert_eq!(
        greet(&accounts, "user2@example.com", "right").await,
        "Your registration is waiting."
    );
}
