use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest};
use authusers_domain::sessions::{
    Authentication, LegacyClaim, LegacyKind, SessionError, SessionId, TokenError,
};
use authusers_domain::User;

use crate::http::problem::Problem;
use crate::http::state::AppState;

/// The approved user whose valid access token came with the request, and
/// the open session that token belongs to: none for a token of the old
/// service, believed while its bridge is open.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    pub session: Option<SessionId>,
    /// How the session's user signed in (`None` for the old service's
    /// token, which proves no second factor).
    pub authentication: Option<Authentication>,
}

/// The approved user whose valid access token, of an open session, came
/// with the request.
#[derive(Debug, Clone)]
pub struct AuthenticatedUser(pub User);

/// An authenticated user who is also an administrator; anyone else gets 403.
#[derive(Debug, Clone)]
pub struct Administrator(pub User);

/// The token after `Bearer ` (or simplejwt's older `JWT `).
pub fn bearer_token(req: &HttpRequest) -> Result<String, Problem> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(Problem::not_authenticated)?
        .to_str()
        .map_err(|_| Problem::token_not_valid())?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(Problem::token_not_valid)?;
    let scheme_ok = scheme.eq_ignore_ascii_case("bearer") || scheme == "JWT";
    let token = token.trim();
    if !scheme_ok || token.is_empty() {
        return Err(Problem::token_not_valid());
    }
    Ok(token.to_owned())
}

/// A token of the old service of `kind`, while its bridge is open.
pub fn legacy_claim(
    state: &AppState,
    token: &str,
    kind: LegacyKind,
) -> Result<LegacyClaim, Problem> {
    state
        .legacy_tokens
        .as_ref()
        .and_then(|legacy| legacy.verify(token, kind, state.clock.now()).ok())
        .ok_or_else(Problem::token_not_valid)
}

/// The user of an access token whose session is open: one look-up, so
/// that a session ended anywhere is refused here on the next request. A
/// token that is not this service's may be the old service's, while its
/// bridge is open.
async fn authenticate(
    state: web::Data<AppState>,
    token: String,
    path: String,
) -> Result<SessionUser, Problem> {
    let now = state.clock.now();
    let (user, session, authentication) = match state.tokens.verify_access(&token, now) {
        Ok(claim) => (
            state.sessions.authenticate(&claim).await,
            Some(claim.session),
            Some(claim.authentication),
        ),
        Err(TokenError::Invalid) => {
            let legacy = legacy_claim(&state, &token, LegacyKind::Access)?;
            (
                state.sessions.authenticate_legacy(legacy.user).await,
                None,
                None,
            )
        }
        Err(_) => return Err(Problem::token_not_valid()),
    };
    let user = match user {
        Ok(user) => user,
        Err(SessionError::NotValid) => return Err(Problem::token_not_valid()),
        Err(SessionError::Repository(e)) => return Err(Problem::storage(&e)),
    };
    tracing::Span::current().record("user_id", user.id.0);
    enrolled_if_required(&state, &user, &path).await?;
    Ok(SessionUser {
        user,
        session,
        authentication,
    })
}

/// `MFA_REQUIRED_FOR_ADMINS`: whether `user` is an administrator who must
/// set up a second factor before anything but its enrolment (for the API
/// and the console alike).
pub async fn owes_enrolment(state: &AppState, user: &User) -> Result<bool, Problem> {
    if !(state.mfa_policy.required_for_admins && user.is_admin) {
        return Ok(false);
    }
    let enrolled = state
        .mfa
        .in_force(user.id)
        .await
        .map_err(|e| Problem::storage(&e))?;
    Ok(!enrolled)
}

/// An administrator who owes an enrolment reaches only `/auth/mfa/…` and
/// their own profile.
async fn enrolled_if_required(state: &AppState, user: &User, path: &str) -> Result<(), Problem> {
    let path = path.trim_end_matches('/');
    if path == "/auth/mfa" || path.starts_with("/auth/mfa/") || path == "/auth/users/me" {
        return Ok(());
    }
    if !owes_enrolment(state, user).await? {
        return Ok(());
    }
    Err(Problem::forbidden(
        "mfa_enrollment_required",
        "Second factor required",
        "Administrators must turn on two-step sign-in first: POST /auth/mfa/totp/, then /auth/mfa/totp/confirm/.",
    ))
}

impl FromRequest for SessionUser {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let path = req.path().to_owned();
        Box::pin(async move {
            let state = state.ok_or_else(|| Problem::internal(&"application state missing"))?;
            authenticate(state, token?, path).await
        })
    }
}

impl FromRequest for AuthenticatedUser {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let authenticated = SessionUser::from_request(req, payload);
        Box::pin(async move { authenticated.await.map(|s| AuthenticatedUser(s.user)) })
    }
}

impl FromRequest for Administrator {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthenticatedUser::from_request(req, payload);
        Box::pin(async move {
            let AuthenticatedUser(user) = user.await?;
            if user.may_decide() {
                Ok(Administrator(user))
            } else {
                Err(Problem::permission_denied())
            }
        })
    }
}
