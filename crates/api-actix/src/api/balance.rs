use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use authusers_domain::balance::{
    BalanceAction, BalanceKind, BalanceOperation, BalanceRefusal, Balances, IdempotencyKey,
    LedgerEntry,
};
use authusers_domain::wallet::{BalanceOutcome, RecordedOutcome};
use authusers_domain::Amount;

use crate::http::field_messages::FieldMessages;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

use super::pagination::{page_body, page_request, PageBody, PageQuery};
use super::profile::format_time;
use crate::http::auth::{AuthenticatedUser, SessionUser};
use crate::http::cursor::Listing;
use crate::http::json_body::{JsonBody, RequestBody};
use crate::http::problem::{Problem, ProblemBody};
use crate::http::state::AppState;

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
        (status = 403, description = "`step_up_required`: an `out` above `MFA_STEP_UP_OUT_ABOVE` by an account with TOTP on, from a session whose second factor is older than `MFA_STEP_UP_SECONDS`; nothing changed. Prove it again at `/auth/jwt/step-up/`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`insufficient_funds` or `balance_limit_exceeded`; nothing changed", body = ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`idempotency_key_reused` with another body", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn change(
    state: web::Data<AppState>,
    caller: SessionUser,
    req: HttpRequest,
    body: JsonBody<BalanceChangeBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.parsed()?;
    // A header that is not visible ASCII becomes a control character, which
    // the domain's key rule refuses with a field error.
    let idempotency_key = req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .map(|raw| raw.to_str().unwrap_or("\u{0}"));
    let (operation, idempotency_key) =
        parse_change(&body, idempotency_key).map_err(Problem::validation)?;
    crate::api::second_step::stepped_up(&state, &caller, &operation).await?;
    let recorded = state
        .wallet
        .change(&caller.user, operation, idempotency_key)
        .await?;
    Ok(outcome_response(recorded))
}

/// The operation and key a request asks for, or an error for every field
/// that does not say it.
fn parse_change(
    body: &BalanceChangeBody,
    idempotency_key: Option<&str>,
) -> Result<(BalanceOperation, Option<IdempotencyKey>), FieldMessages> {
    let mut errors = FieldMessages::new();
    let action = match body.action.as_deref() {
        None => {
            errors.add("action", REQUIRED);
            None
        }
        Some(raw) => errors.collect(
            "action",
            BalanceAction::parse_requested(raw).ok_or_else(|| {
                format!("\"{raw}\" is not a valid choice: use \"in\", \"out\" or \"convert\".")
            }),
        ),
    };
    let kind = match (action, body.value_type.as_deref()) {
        (Some(BalanceAction::Convert), None | Some("real")) => Some(BalanceKind::Real),
        (Some(BalanceAction::Convert), Some(_)) => {
            errors.add(
                "value_type",
                "A convert goes from \"real\"; omit value_type or send \"real\".",
            );
            None
        }
        (_, None) => {
            errors.add("value_type", REQUIRED);
            None
        }
        (_, Some(raw)) => errors.collect(
            "value_type",
            BalanceKind::parse(raw).ok_or_else(|| {
                format!("\"{raw}\" is not a valid choice: use \"real\" or \"virtual\".")
            }),
        ),
    };
    // A number is read from its exact text, never through a float.
    let amount = match &body.value {
        None => {
            errors.add("value", REQUIRED);
            None
        }
        Some(Value::Number(number)) => errors.collect("value", Amount::parse(&number.to_string())),
        Some(Value::String(text)) => errors.collect("value", Amount::parse(text)),
        Some(_) => {
            errors.add("value", "A valid number is required.");
            None
        }
    };
    let key = match idempotency_key {
        None => None,
        Some(raw) => errors.collect(IDEMPOTENCY_KEY, IdempotencyKey::parse(raw)),
    };
    let operation = match (action, kind, amount) {
        (Some(BalanceAction::In), Some(kind), Some(amount)) => {
            BalanceOperation::Deposit { kind, amount }
        }
        (Some(BalanceAction::Out), Some(kind), Some(amount)) => {
            BalanceOperation::Withdraw { kind, amount }
        }
        (Some(BalanceAction::Convert), Some(_), Some(amount)) => {
            BalanceOperation::Convert { amount }
        }
        _ => return Err(errors),
    };
    errors.into_result()?;
    Ok((operation, key))
}

const REQUIRED: &str = "This field is required.";

/// The caller's ledger, newest first.
#[utoipa::path(get, path = "/balance/transactions/", operation_id = "list_balance_transactions", tag = "balance", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of ledger entries", body = PageBody<LedgerEntryBody>),
        (status = 400, description = "Bad `limit`, `offset` or `cursor`", body = ProblemBody, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn transactions(
    state: web::Data<AppState>,
    AuthenticatedUser(user): AuthenticatedUser,
    req: HttpRequest,
) -> Result<HttpResponse, Problem> {
    let listing = Listing::new("ledger", user.id.to_string());
    let request = page_request(&req, &listing)?;
    let page = state
        .wallet
        .ledger(&user, request)
        .await
        .map_err(|e| Problem::storage(&e))?;
    let body = page_body(&req, &listing, page.map(|e| LedgerEntryBody::from(&e)));
    Ok(HttpResponse::Ok().json(body))
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(action: &str, value_type: Option<&str>, value: Value) -> BalanceChangeBody {
        BalanceChangeBody {
            action: Some(action.into()),
            value_type: value_type.map(Into::into),
            value: Some(value),
        }
    }

    fn invalid_fields(body: &BalanceChangeBody, key: Option<&str>) -> Vec<String> {
        match parse_change(body, key) {
            Err(errors) => errors.fields().keys().cloned().collect(),
            Ok(parsed) => panic!("expected field errors, got {parsed:?}"),
        }
    }

    #[test]
    fn each_action_becomes_its_operation() {
        let amount = |text| Amount::parse(text).unwrap();
        let parsed = |b: BalanceChangeBody, key| parse_change(&b, key).unwrap();
        assert_eq!(
            parsed(body("in", Some("virtual"), json!(10.5)), None),
            (
                BalanceOperation::Deposit {
                    kind: BalanceKind::Virtual,
                    amount: amount("10.5")
                },
                None
            )
        );
        let (operation, key) = parsed(body("out", Some("real"), json!("0.01")), Some("k-1"));
        assert_eq!(
            operation,
            BalanceOperation::Withdraw {
                kind: BalanceKind::Real,
                amount: amount("0.01")
            }
        );
        assert_eq!(key.as_ref().map(IdempotencyKey::as_str), Some("k-1"));
        // A convert goes from real, said or not.
        for value_type in [None, Some("real")] {
            assert_eq!(
                parsed(body("convert", value_type, json!(1000)), None).0,
                BalanceOperation::Convert {
                    amount: amount("1000")
                }
            );
        }
    }

    #[test]
    fn bad_requests_name_every_field() {
        let cases: Vec<(BalanceChangeBody, Option<&str>, Vec<&str>)> = vec![
            (body("in", Some("real"), json!(-1)), None, vec!["value"]),
            (body("in", Some("real"), json!("0")), None, vec!["value"]),
            (
                body("in", Some("real"), json!("1.001")),
                None,
                vec!["value"],
            ),
            (
                body("in", Some("real"), json!("1000000000.01")),
                None,
                vec!["value"],
            ),
            (
                body("in", Some("real"), json!("1e309")),
                None,
                vec!["value"],
            ),
            (body("in", Some("real"), json!("NaN")), None, vec!["value"]),
            (body("steal", Some("real"), json!(1)), None, vec!["action"]),
            (
                body("opening", Some("real"), json!(1)),
                None,
                vec!["action"],
            ),
            (body("in", Some("gold"), json!(1)), None, vec!["value_type"]),
            (body("in", None, json!(1)), None, vec!["value_type"]),
            (
                body("convert", Some("virtual"), json!(1)),
                None,
                vec!["value_type"],
            ),
            (
                BalanceChangeBody {
                    action: None,
                    value_type: None,
                    value: Some(json!(true)),
                },
                Some("with space"),
                vec!["Idempotency-Key", "action", "value", "value_type"],
            ),
            (
                BalanceChangeBody {
                    value: None,
                    ..body("out", Some("real"), json!(1))
                },
                None,
                vec!["value"],
            ),
        ];
        for (bad, key, fields) in cases {
            assert_eq!(invalid_fields(&bad, key), fields, "{bad:?} {key:?}");
        }
    }
}
