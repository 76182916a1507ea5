//! Who is using the console: a cookie that names a domain session (opened
//! by signing in, like a login), checked on every request as a bearer token
//! is, and a CSRF token bound to that cookie on every form.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use authusers_domain::sessions::{SessionError, SessionId};
use authusers_domain::User;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::views::{self, CSRF_FIELD};
use crate::http::auth::owes_enrolment;
use crate::http::problem::Problem;
use crate::http::state::AppState;

/// The cookie that holds the signed console token.
pub const SESSION_COOKIE: &str = "authusers_console";
/// The cookie the sign-in form's CSRF token is bound to, before any session.
pub const SIGN_IN_COOKIE: &str = "authusers_console_sign_in";
/// Where the console lives; its cookies go nowhere else.
pub const BASE: &str = "/admin/";
const SIGN_IN: &str = "/admin/login/";
/// Where an administrator sets up their second factor.
const ENROLMENT: &str = "/admin/mfa/";

/// A signed-in administrator: the user (still approved and still an
/// administrator at this request), their session, and the CSRF token of
/// their forms.
#[derive(Debug, Clone)]
pub struct ConsoleAdmin {
    pub user: User,
    pub session: SessionId,
    pub csrf: String,
}

/// Why a console request is not served as asked.
#[derive(Debug)]
pub enum ConsoleError {
    /// No open session: go and sign in.
    SignedOut,
    /// Signed in, but not (or no longer) an administrator.
    NotAdministrator,
    /// A form without the CSRF token of this session.
    Forged,
    NotFound(&'static str),
    /// An administrator without the second factor `MFA_REQUIRED_FOR_ADMINS`
    /// asks for: its enrolment first.
    EnrolmentRequired,
    Problem(Problem),
}

impl From<Problem> for ConsoleError {
    fn from(problem: Problem) -> Self {
        Self::Problem(problem)
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SignedOut => f.write_str("not signed in to the console"),
            Self::NotAdministrator => f.write_str("not an administrator"),
            Self::Forged => f.write_str("a console form without its CSRF token"),
            Self::NotFound(what) => write!(f, "{what} not found"),
            Self::EnrolmentRequired => f.write_str("the second factor is to be set up first"),
            Self::Problem(problem) => write!(f, "{}: {}", problem.code(), problem.detail()),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignedOut | Self::EnrolmentRequired => StatusCode::SEE_OTHER,
            Self::NotAdministrator | Self::Forged => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Problem(problem) => problem.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignedOut => {
                // A cookie of an ended session is of no more use.
                let mut response = redirect(SIGN_IN);
                response
                    .headers_mut()
                    .append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE));
                response
            }
            Self::NotAdministrator => views::message_page(
                StatusCode::FORBIDDEN,
                "Administrators only",
                "The console is for administrators. This account cannot use it.",
            ),
            Self::Forged => views::message_page(
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The form was not sent from this console session. Go back, reload the page \
                 and try again.",
            ),
            Self::NotFound(what) => views::message_page(StatusCode::NOT_FOUND, "Not found", what),
            Self::EnrolmentRequired => redirect(ENROLMENT),
            Self::Problem(problem) => views::problem_page(problem),
        }
    }
}

/// 303 See Other: after a form, the browser GETs `location`.
pub fn redirect(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The value of the cookie `name`, if the request has exactly that one.
/// Two of the same name (one planted by a sibling host, say) leave no way
/// to tell which is ours: neither is taken.
pub fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    let mut values = req
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value);
    match (values.next(), values.next()) {
        (Some(value), None) => Some(value.to_owned()),
        _ => None,
    }
}

/// `Set-Cookie` for a console cookie: never readable by scripts, never
/// sent by another site's request, only to the console's paths, and only
/// over HTTPS when the service is reached that way.
pub fn set_cookie(state: &AppState, name: &str, value: &str) -> Option<HeaderValue> {
    let secure = state.public_url.as_ref().is_some_and(|url| url.is_https());
    let line = format!(
        "{name}={value}; Path={BASE}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&line).ok()
}

/// `Set-Cookie` that removes a console cookie.
pub fn clear_cookie(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}=; Path={BASE}; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The CSRF token of forms sent with the cookie `secret`: a digest only
/// the holder of that HttpOnly cookie's value (which a page on another
/// site cannot read) can compute.
pub fn csrf_token(secret: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"authusers console csrf\0");
    digest.update(secret.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.finalize())
}

/// Whether `sent` is the CSRF token of `secret`, compared in constant time.
pub fn csrf_matches(secret: &str, sent: Option<&str>) -> bool {
    let expected = csrf_token(secret);
    sent.is_some_and(|sent| bool::from(expected.as_bytes().ct_eq(sent.as_bytes())))
}

/// A form body as `T` and its CSRF token, which must be that of `secret`.
/// A body of any other type is refused (415) before it is read: it could
/// only come from something other than the console's own forms.
pub fn read_form<T: DeserializeOwned>(
    req: &HttpRequest,
    secret: &str,
    body: &[u8],
) -> Result<T, ConsoleError> {
    if !crate::http::json_body::is_form(req) {
        return Err(Problem::unsupported_media_type(
            "Send the form as application/x-www-form-urlencoded.",
        )
        .into());
    }
    parse_form(secret, body)
}

/// A form body as `T` and its CSRF token, which must be that of `secret`.
fn parse_form<T: DeserializeOwned>(secret: &str, body: &[u8]) -> Result<T, ConsoleError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| ConsoleError::Forged)?;
    let sent = pairs
        .iter()
        .find(|(name, _)| name == CSRF_FIELD)
        .map(|(_, value)| value.as_str());
    if !csrf_matches(secret, sent) {
        return Err(ConsoleError::Forged);
    }
    serde_urlencoded::from_bytes(body).map_err(|_| {
        ConsoleError::Problem(Problem::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "Invalid request",
            "The form could not be read.",
        ))
    })
}

impl ConsoleAdmin {
    /// The form this administrator sent, if it carries their CSRF token.
    pub fn form<T: DeserializeOwned>(
        &self,
        req: &HttpRequest,
        body: &[u8],
    ) -> Result<T, ConsoleError> {
        let secret = cookie(req, SESSION_COOKIE).ok_or(ConsoleError::SignedOut)?;
        read_form(req, &secret, body)
    }
}

/// The administrator of the request's console cookie: its signature and
/// expiry, then its session still open and its user still an approved
/// administrator, on every request.
async fn signed_in(
    state: web::Data<AppState>,
    token: String,
    path: String,
) -> Result<ConsoleAdmin, ConsoleError> {
    let claim = state
        .tokens
        .verify_console(&token, state.clock.now())
        .map_err(|_| ConsoleError::SignedOut)?;
    let user = match state.sessions.authenticate(&claim).await {
        Ok(user) => user,
        Err(SessionError::NotValid) => return Err(ConsoleError::SignedOut),
        Err(SessionError::Repository(e)) => return Err(Problem::storage(&e).into()),
    };
    tracing::Span::current().record("user_id", user.id.0);
    if !user.may_decide() {
        return Err(ConsoleError::NotAdministrator);
    }
    // `MFA_REQUIRED_FOR_ADMINS`: the enrolment (and signing out) first.
    let exempt = path.starts_with(ENROLMENT) || path.starts_with("/admin/logout");
    if !exempt && owes_enrolment(&state, &user).await? {
        return Err(ConsoleError::EnrolmentRequired);
    }
    Ok(ConsoleAdmin {
        user,
        session: claim.session,
        csrf: csrf_token(&token),
    })
}

impl FromRequest for ConsoleAdmin {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = cookie(req, SESSION_COOKIE);
        let path = req.path().to_owned();
        Box::pin(async move {
            let state = state.ok_or_else(|| Problem::internal(&"application state missing"))?;
            signed_in(state, token.ok_or(ConsoleError::SignedOut)?, path).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_believed_only_when_sent_once() {
        let request = |lines: &[&str]| {
            let mut request = actix_web::test::TestRequest::default();
            for line in lines {
                request = request.append_header((header::COOKIE, *line));
            }
            request.to_http_request()
        };
        let one = request(&["theme=dark; authusers_console=abc"]);
        assert_eq!(cookie(&one, "authusers_console").as_deref(), Some("abc"));
        // A second cookie of the same name (set by a sibling host, say)
        // makes both doubtful: neither is taken.
        for twice in [
            request(&["authusers_console=abc; authusers_console=planted"]),
            request(&["authusers_console=planted", "authusers_console=abc"]),
        ] {
            assert_eq!(cookie(&twice, "authusers_console"), None);
        }
        assert_eq!(cookie(&request(&[]), "authusers_console"), None);
    }

    #[test]
    fn the_csrf_token_is_bound_to_its_cookie() {
        let token = csrf_token("cookie-a");
        assert!(csrf_matches("cookie-a", Some(&token)));
        assert!(!csrf_matches("cookie-b", Some(&token)));
        assert!(!csrf_matches("cookie-a", None));
        assert!(!csrf_matches("cookie-a", Some("")));
    }

    #[test]
    fn a_form_without_its_token_is_forged() {
        #[derive(serde::Deserialize)]
        struct Form {
            #[allow(dead_code)]
            action: String,
        }
        let token = csrf_token("secret");
        let good = format!("action=accept&csrf={token}");
        assert!(parse_form::<Form>("secret", good.as_bytes()).is_ok());
        assert!(matches!(
            parse_form::<Form>("secret", b"action=accept"),
            Err(ConsoleError::Forged)
        ));
        assert!(matches!(
            parse_form::<Form>("other", good.as_bytes()),
            Err(ConsoleError::Forged)
        ));
    }
}
