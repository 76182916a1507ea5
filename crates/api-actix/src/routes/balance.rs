use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use authusers_domain::balance::{BalanceRefusal, Balances, LedgerEntry};
use authusers_domain::wallet::{BalanceOutcome, BalanceRequest, RecordedOutcome, ValueInput};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use super::pagination::{page_body, page_request, PageBody, PageQuery};
use super::profile::format_time;
use crate::auth::AuthenticatedUser;
use crate::json_body::{JsonBody, RequestBody};
use crate::problem::{Problem, ProblemBody};
use crate::state::AppState;

pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "convert", "value_type": "real", "value": "1000.00"}))]
pub struct BalanceChangeBody {
    #[schema(value_type = ActionName)]
    action: Option<String>,
    /// For `convert`, omitted or `real`.
    #[schema(value_type = Option<KindName>)]
    value_type: Option<String>,
    /// More than 0, at most 2 decimal places, at most 1000000000.00; a JSON
    /// number or a string. Kept as raw JSON so that a number is read from
    /// its exact text, never through a float.
    #[schema(value_type = MoneyInput)]
    value: Option<Value>,
}

/// `in`, `out` or `convert` (for the document only, as the other names
/// below: the handler reads the text, so that anything else is a named
/// field error).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ActionName {
    In,
    Out,
    Convert,
}

/// `real` or `virtual`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum KindName {
    Real,
    Virtual,
}

/// A money amount: a JSON number (`10.5`) read from its exact text, or a
/// string (`"10.50"`); more than 0, at most 2 decimal places, at most
/// 1000000000.00.
pub struct MoneyInput;

impl utoipa::PartialSchema for MoneyInput {
    fn schema() -> RefOr<Schema> {
        let number = ObjectBuilder::new()
            .schema_type(Type::Number)
            .exclusive_minimum(Some(0.0))
            .maximum(Some(1_000_000_000.0))
            .multiple_of(Some(0.01));
        let text = ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(64))
            .description(Some("A decimal, such as 10.50"));
        OneOfBuilder::new()
            .item(number)
            .item(text)
            .description(Some(
                "More than 0, at most 2 decimal places, at most 1000000000.00; a number or a string",
            ))
            .into()
    }
}

impl ToSchema for MoneyInput {}

impl RequestBody for BalanceChangeBody {}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"real_balance": "489.50", "virtual_balance": "1050.00"}))]
pub struct BalancesBody {
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

/// One applied operation, with both balances after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryBody {
    id: i64,
    #[schema(value_type = String, example = "convert")]
    action: &'static str,
    #[schema(value_type = String, example = "real")]
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

/// The caller's balances.
#[utoipa::path(get, path = "/balance/", operation_id = "get_balance", tag = "balance", security(("bearer" = [])),
    responses(
        (status = 200, description = "Both balances", body = BalancesBody),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn show(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
) -> Result<HttpResponse, Problem> {
    let balances = state.wallet.balances(&user).await?;
    Ok(HttpResponse::Ok().json(BalancesBody::from(balances)))
}

/// `in`, `out` or `convert` (real → virtual plus a 5% bonus, rounded half
/// to even), applied once per `Idempotency-Key`.
#[utoipa::path(patch, path = "/balance/", operation_id = "change_balance", tag = "balance", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header,
        description = "1-255 visible ASCII characters; the same key and body are answered again, not applied again",
        min_length = 1, max_length = 255, pattern = "^[!-~]{1,255}$")),
    request_body = BalanceChangeBody,
    responses(
        (status = 200, description = "Both balances after the operation (`Idempotent-Replayed: true` on a replay)", body = BalancesBody),
        (status = 400, description = "Invalid field, named in `errors`; nothing written", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`insufficient_funds` or `balance_limit_exceeded`; nothing changed", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`idempotency_key_reused` with another body", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn change(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    req: HttpRequest,
    body: JsonBody<BalanceChangeBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
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

/// The caller's ledger, newest first.
#[utoipa::path(get, path = "/balance/transactions/", operation_id = "list_balance_transactions", tag = "balance", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of ledger entries", body = PageBody<LedgerEntryBody>),
        (status = 400, description = "Bad `limit` or `offset`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
    ))]
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
        .map_err(|e| Problem::storage(&e))?;
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
