//! The console's second step of signing in, for an administrator with a
//! second factor: the sign-in's `mfa_token` rides in the form, and a code
//! or a recovery code opens the session, under the same rules as
//! `POST /auth/jwt/create/mfa/`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use authusers_domain::mfa::{MfaToken, RecoveryCode, TotpCode};
use authusers_domain::sessions::{Entrance, SecondFactorProof, SecondStepError};
use serde::Deserialize;

use super::session::{cookie, csrf_token, read_form, ConsoleError, SIGN_IN_COOKIE};
use super::{sign_in_answer, signed_in, views};
use crate::http::client_address::{client_info, Client};
use crate::http::problem::Problem;
use crate::http::state::AppState;

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    mfa_token: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    recovery_code: String,
}

/// The code form for the sign-in `token` names.
pub(super) fn second_step_form(
    req: &HttpRequest,
    status: StatusCode,
    token: &str,
    problem: Option<&Problem>,
) -> Result<HttpResponse, ConsoleError> {
    let secret = cookie(req, SIGN_IN_COOKIE).ok_or(ConsoleError::Forged)?;
    Ok(views::respond(
        status,
        views::second_step(&csrf_token(&secret), token, problem),
    ))
}

/// Takes the code (or recovery code) of the second step: a session and the
/// console, the form again after a wrong code, or the sign-in page when the
/// step is dead.
pub async fn sign_in_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    Client(client): Client,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let secret = cookie(&req, SIGN_IN_COOKIE).ok_or(ConsoleError::Forged)?;
    let form: CodeForm = read_form(&req, &secret, &body)?;
    // An unknown, expired, used or exhausted sign-in: the sign-in page.
    let sign_in_again = || {
        let dead = Problem::new(
            StatusCode::UNAUTHORIZED,
            "token_not_valid",
            "Sign in again",
            "This sign-in expired, or had too many tries. Sign in again.",
        );
        Ok(sign_in_answer(
            &state,
            &req,
            StatusCode::UNAUTHORIZED,
            "",
            Some(&dead),
            None,
        ))
    };
    let Some(token) = MfaToken::parse(&form.mfa_token) else {
        return sign_in_again();
    };
    let proof = match (form.code.trim(), form.recovery_code.trim()) {
        (code, "") => TotpCode::parse(code).ok().map(SecondFactorProof::Code),
        ("", code) => RecoveryCode::parse(code).map(SecondFactorProof::RecoveryCode),
        _ => None,
    };
    let Some(proof) = proof else {
        let problem = Problem::new(
            StatusCode::BAD_REQUEST,
            "validation_failed",
            "Invalid request",
            "Enter the six digits of your authenticator app, or one recovery code.",
        );
        return second_step_form(
            &req,
            StatusCode::BAD_REQUEST,
            &form.mfa_token,
            Some(&problem),
        );
    };
    let completed = state
        .sign_in
        .complete(
            &token,
            proof,
            client,
            client_info(&req, client),
            Entrance::Console,
        )
        .await;
    match completed {
        Ok((user, grant)) => signed_in(&state, &user, &grant),
        Err(SecondStepError::TokenNotValid) => sign_in_again(),
        Err(SecondStepError::NotAdministrator) => Err(ConsoleError::NotAdministrator),
        Err(SecondStepError::Check(error)) => {
            let problem = crate::api::mfa::refused(error, "code");
            let status = actix_web::ResponseError::status_code(&problem);
            if status.is_server_error() {
                return Err(problem.into());
            }
            second_step_form(&req, status, &form.mfa_token, Some(&problem))
        }
        Err(SecondStepError::Session(e)) => Err(Problem::storage(&e).into()),
    }
}
