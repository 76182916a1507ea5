//! The administrator's own second factor in the console (enrolment with the
//! QR code on the page, required before anything else when
//! `MFA_REQUIRED_FOR_ADMINS` is on), and the reset of a user's lost one.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use authusers_domain::mfa::{CheckError, TotpCode};
use serde::Deserialize;

use super::session::{redirect, ConsoleAdmin, ConsoleError};
use super::views::{self, Section};
use super::{find_user, frame, Done, EmptyForm, PageQuery};
use crate::api::mfa::{password_errors, TOTP_ISSUER};
use crate::http::client_address::Client;
use crate::http::problem::Problem;
use crate::http::state::AppState;

#[derive(Debug, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

fn answer(
    admin: &ConsoleAdmin,
    req: &HttpRequest,
    status: StatusCode,
    body: maud::Markup,
) -> HttpResponse {
    let mut response = views::page(
        frame(admin, Some(Section::SecondFactor), &PageQuery::of(req)),
        "Two-step sign-in",
        body,
    );
    *response.status_mut() = status;
    response
}

/// Whether the administrator's second factor is on, and the way to turn it
/// on when it is not.
pub async fn show(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
) -> Result<HttpResponse, ConsoleError> {
    let status = state
        .mfa
        .status(admin.user.id)
        .await
        .map_err(|e| Problem::storage(&e))?;
    let required = state.mfa_policy.required_for_admins;
    Ok(answer(
        &admin,
        &req,
        StatusCode::OK,
        views::factor_status(&status, required, &admin.csrf, None),
    ))
}

/// Begins the enrolment, after the password: the secret as a QR code and
/// as text, and the form for its first code.
pub async fn begin(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
    Client(client): Client,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form: PasswordForm = admin.form(&req, &body)?;
    let errors = password_errors(&state, &admin.user, &form.current_password, client).await?;
    if !errors.is_empty() {
        let status = state
            .mfa
            .status(admin.user.id)
            .await
            .map_err(|e| Problem::storage(&e))?;
        let refusal = "The password is wrong.";
        return Ok(answer(
            &admin,
            &req,
            StatusCode::BAD_REQUEST,
            views::factor_status(
                &status,
                state.mfa_policy.required_for_admins,
                &admin.csrf,
                Some(refusal),
            ),
        ));
    }
    let secret = state
        .mfa
        .begin(admin.user.id)
        .await
        .map_err(Problem::from)?;
    let enrolment =
        authusers_infra_crypto::enrolment(&secret, TOTP_ISSUER, admin.user.email.as_str());
    Ok(answer(
        &admin,
        &req,
        StatusCode::OK,
        views::factor_enrolment(&enrolment.qr_svg, &enrolment.secret_base32, &admin.csrf),
    ))
}

/// Puts the enrolment in force with its first code: the recovery codes,
/// shown this once.
pub async fn confirm(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
    Client(client): Client,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form: CodeForm = admin.form(&req, &body)?;
    let refused = |message: &str| {
        answer(
            &admin,
            &req,
            StatusCode::BAD_REQUEST,
            views::factor_retry(message, &admin.csrf),
        )
    };
    let Ok(code) = TotpCode::parse(form.code.trim()) else {
        return Ok(refused("A code is the six digits the app shows."));
    };
    let confirmed = state
        .mfa
        .confirm(&admin.user, &code, client, Some(admin.session.clone()))
        .await;
    match confirmed {
        Ok(codes) => Ok(answer(
            &admin,
            &req,
            StatusCode::OK,
            views::recovery_codes(&codes),
        )),
        Err(CheckError::Refused(_)) => Ok(refused("That code is wrong, or was used already.")),
        Err(CheckError::NothingToCheck) => Ok(refused(
            "No enrolment is waiting (they last 10 minutes): begin again.",
        )),
        Err(other) => Err(crate::api::mfa::refused(other, "code").into()),
    }
}

/// Turns a user's second factor off (a lost device): their sessions end
/// and they are told by mail.
pub async fn reset(
    state: web::Data<AppState>,
    admin: ConsoleAdmin,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let EmptyForm {} = admin.form(&req, &body)?;
    let user = find_user(&state, &admin.user, &id).await?;
    state
        .mfa
        .reset_by_administrator(&user)
        .await
        .map_err(|e| Problem::storage(&e))?;
    tracing::info!(admin = %admin.user.id, user = %user.id, "second factor reset in the console");
    Ok(redirect(&format!(
        "/admin/users/{}/?done={}",
        user.id.0,
        Done::FactorReset.as_str()
    )))
}
