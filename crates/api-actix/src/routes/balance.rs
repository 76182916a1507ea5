use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use authusers_domain::balance::{BalanceRefusal, Balances, LedgerEntry};
use authusers_domain::ports::{BalanceOutcome, RecordedOutcome};
use authusers_domain::wallet::{BalanceRequest, ValueInput};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::pagination::{page_body, page_request};
use super::profile::format_time;
use crate::auth::AuthenticatedUser;
use crate::json_body::{JsonBody, RequestBody};
use crate::problem::Problem;
use crate::state::AppState;

pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

#[derive(Debug, Deserialize)]
pub struct BalanceChangeBody {
    action: Option<String>,
    value_type: Option<String>,
    /// Kept as raw JSON so that a number is read from its exact text, never
    /// through a float.
    value: Option<Value>,
}

impl RequestBody for BalanceChangeBody {
    const FIELDS: &'static [&'static str] = &["action", "value_type", "value"];
}

#[derive(Debug, Serialize)]
struct BalancesBody {
    real_balance: String,
    virtual_balance: String,
}

impl From<Balances> for BalancesBody {
    fn from(balances: Balances) -> Self {
        Self {
            real_balance: balances.real.to_string(),
            virtual_balance: balances.virtual_.to_string(),
        }
    }
}

#[derive(Debug, Serialize)]
struct LedgerEntryBody {
    id: i64,
    action: &'static str,
    value_type: &'static str,
    value: String,
    bonus: String,
    real_balance: String,
    virtual_balance: String,
    created_at: String,
    idempotency_key: Option<String>,
}

impl From<&LedgerEntry> for LedgerEntryBody {
    fn from(entry: &LedgerEntry) -> Self {
        Self {
            id: entry.id,
            action: entry.action.as_str(),
            value_type: entry.kind.as_str(),
            value: entry.amount.to_string(),
            bonus: entry.bonus.to_string(),
            real_balance: entry.balances_after.real.to_string(),
            virtual_balance: entry.balances_after.virtual_.to_string(),
            created_at: format_time(entry.created_at),
            idempotency_key: entry.idempotency_key.as_ref().map(ToString::to_string),
        }
    }
}

/// `GET /balance/`
pub async fn show(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
) -> Result<HttpResponse, Problem> {
    let balances = state.wallet.balances(&user).await?;
    Ok(HttpResponse::Ok().json(BalancesBody::from(balances)))
}

/// `PATCH /balance/`: `in`, `out` or `convert`, once per idempotency key.
pub async fn change(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    req: HttpRequest,
    JsonBody(body): JsonBody<BalanceChangeBody>,
) -> Result<HttpResponse, Problem> {
    // A header that is not visible ASCII becomes a control character, which
    // the domain's key rule refuses with a field error.
    let idempotency_key = req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .map(|raw| raw.to_str().unwrap_or("\u{0}").to_owned());
    let request = BalanceRequest {
        action: body.action,
        value_type: body.value_type,
        value: value_input(body.value),
        idempotency_key,
    };
    let recorded = state.wallet.change(&user, request).await?;
    Ok(outcome_response(recorded))
}

/// `GET /balance/transactions/`: the caller's ledger, newest first.
pub async fn transactions(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let request = page_request(&req)?;
    let page = state
        .wallet
        .ledger(&user, request)
        .await
        .map_err(|e| Problem::internal(&e))?;
    Ok(HttpResponse::Ok().json(page_body(&req, page.map(|e| LedgerEntryBody::from(&e)))))
}

fn value_input(value: Option<Value>) -> ValueInput {
    match value {
        None => ValueInput::Missing,
        Some(Value::Number(number)) => ValueInput::Text(number.to_string()),
        Some(Value::String(text)) => ValueInput::Text(text),
        Some(_) => ValueInput::WrongType,
    }
}

fn outcome_response(recorded: RecordedOutcome) -> HttpResponse {
    let mut response = match recorded.outcome {
        BalanceOutcome::Applied(balances) => HttpResponse::Ok().json(BalancesBody::from(balances)),
        BalanceOutcome::Refused(refusal) => refusal_problem(refusal).error_response(),
    };
    if recorded.replayed {
        response
            .headers_mut()
            .insert(REPLAYED, HeaderValue::from_static("true"));
    }
    response
}

fn refusal_problem(refusal: BalanceRefusal) -> Problem {
    match refusal {
        BalanceRefusal::InsufficientFunds => Problem::new(
            StatusCode::CONFLICT,
            "insufficient_funds",
            "Insufficient funds",
            "The balance is too low for this operation; nothing was changed.",
        ),
        BalanceRefusal::LimitExceeded => Problem::new(
            StatusCode::CONFLICT,
            "balance_limit_exceeded",
            "Balance limit exceeded",
            "The balance would exceed 9999999999999.99; nothing was changed.",
        ),
    }
}
