//! Verify an AuthUsers access token in another service, from its published
//! keys alone (no shared secret), with the `jsonwebtoken` crate.
//!
//!     cargo run --example verify_token -- https://auth.example.com "$ACCESS_TOKEN" [AUDIENCE]
//!
//! Prints the token's claims as JSON, or exits 1 with the reason it is
//! refused.

use std::error::Error;
use std::process::ExitCode;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// The issuer and its keys, from the discovery document. Keep them: fetch
/// again only when a token names a key they do not hold (after a rotation).
pub async fn discover(base_url: &str) -> Result<(String, JwkSet), Box<dyn Error>> {
    let client = reqwest::Client::new();
    let url = format!(
        "{}/.well-known/openid-configuration",
        base_url.trim_end_matches('/')
    );
    let discovery: Discovery = client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let keys: JwkSet = client
        .get(&discovery.jwks_uri)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok((discovery.issuer, keys))
}

/// The claims of a valid access token.
pub fn verify(
    token: &str,
    issuer: &str,
    keys: &JwkSet,
    audience: Option<&str>,
) -> Result<Value, Box<dyn Error>> {
    let kid = decode_header(token)?.kid.ok_or("the token names no key")?;
    let jwk = keys
        .find(&kid)
        .ok_or("unknown key: fetch the key set again")?;
    // The algorithm is the published key's, never the one the token claims.
    let algorithm = Algorithm::try_from(jwk.common.key_algorithm.ok_or("key without alg")?)?;
    let mut validation = Validation::new(algorithm);
    validation.set_issuer(&[issuer]); // the service's JWT_ISSUER
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    match audience {
        Some(audience) => validation.set_audience(&[audience]), // its JWT_AUDIENCE
        None => validation.validate_aud = false,
    }
    let claims = decode::<Value>(token, &DecodingKey::from_jwk(jwk)?, &validation)?.claims;
    // Refresh tokens are signed by the same key: accept access tokens only.
    if claims["token_type"] != "access" {
        return Err("not an access token".into());
    }
    Ok(claims)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base_url, token, rest @ ..] = args.as_slice() else {
        eprintln!("usage: verify_token BASE_URL ACCESS_TOKEN [AUDIENCE]");
        return ExitCode::from(2);
    };
    let verified = match discover(base_url).await {
        Ok((issuer, keys)) => verify(token, &issuer, &keys, rest.first().map(String::as_str)),
        Err(e) => Err(e),
    };
    match verified {
        Ok(claims) => {
            println!("{claims}");
            ExitCode::SUCCESS
        }
        Err(refused) => {
            eprintln!("refused: {refused}");
            ExitCode::FAILURE
        }
    }
}
