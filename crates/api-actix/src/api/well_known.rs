//! What other services need to verify this service's tokens without its
//! secret: the public keys (RFC 7517 JWK Set) and a discovery document
//! that points at them (OpenID Connect Discovery's field names).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use authusers_infra_jwt::KeyRing;

/// How long a verifier may cache the key set. A key is published for at
/// least a refresh lifetime before it stops verifying, and verifiers fetch
/// again when a token names a key they do not know, so a short time does.
pub const KEY_SET_MAX_AGE_SECONDS: u32 = 300;

/// Both documents, built once: they change only with a restart. Each
/// answer shares the bytes rather than copying them.
pub struct WellKnown {
    jwks: web::Bytes,
    openid_configuration: web::Bytes,
}

/// The discovery fields a JOSE library reads to find the keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiscoveryBody {
    /// `JWT_ISSUER`, or else the service's base URL.
    #[schema(example = "https://auth.example.com")]
    issuer: String,
    #[schema(example = "https://auth.example.com/.well-known/jwks.json")]
    jwks_uri: String,
    #[schema(example = "https://auth.example.com/auth/jwt/create/")]
    token_endpoint: String,
}

/// A JWK Set (RFC 7517): public keys only.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"keys": [{"kty": "OKP", "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "alg": "EdDSA", "use": "sig"}]}))]
pub struct KeySetBody {
    /// Each a JWK: `kty`, `kid`, `alg`, `use` and the key's public
    /// parameters (`crv` and `x` for Ed25519; `crv`, `x`, `y` for P-256;
    /// `n`, `e` for RSA).
    keys: Vec<serde_json::Value>,
}

impl WellKnown {
    /// `base` is the service's URL without a trailing slash.
    pub fn new(
        keys: &KeyRing,
        issuer: Option<&str>,
        base: &str,
    ) -> Result<Self, serde_json::Error> {
        let discovery = DiscoveryBody {
            issuer: issuer.unwrap_or(base).to_owned(),
            jwks_uri: format!("{base}/.well-known/jwks.json"),
            token_endpoint: format!("{base}/auth/jwt/create/"),
        };
        Ok(Self {
            jwks: serde_json::to_vec(keys.jwks())?.into(),
            openid_configuration: serde_json::to_vec(&discovery)?.into(),
        })
    }
}

fn cacheable(body: &web::Bytes) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={KEY_SET_MAX_AGE_SECONDS}"),
        ))
        .body(body.clone())
}

/// The public keys that verify this service's tokens: the signing key and
/// the retired ones still accepted. Empty when tokens are signed with a
/// shared secret (HS256), which is never published.
#[utoipa::path(get, path = "/.well-known/jwks.json", operation_id = "jwks", tag = "tokens",
    responses((status = 200, description = "The JWK Set (RFC 7517); cacheable for five minutes",
        body = KeySetBody,
        headers(("Cache-Control" = String, description = "public, max-age=300")))))]
pub async fn jwks(well_known: web::Data<WellKnown>) -> HttpResponse {
    cacheable(&well_known.jwks)
}

/// Where the keys are, for libraries that start from the issuer.
#[utoipa::path(get, path = "/.well-known/openid-configuration", operation_id = "openid_configuration",
    tag = "tokens",
    responses((status = 200, description = "The issuer and where its keys are", body = DiscoveryBody,
        headers(("Cache-Control" = String, description = "public, max-age=300")))))]
pub async fn openid_configuration(well_known: web::Data<WellKnown>) -> HttpResponse {
    cacheable(&well_known.openid_configuration)
}
