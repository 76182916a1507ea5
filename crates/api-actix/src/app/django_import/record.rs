//! One record of a dump as a user to move in: Django's field names (or the
//! ones a deployment's model uses instead), its value formats, and what
//! each means here.

use std::collections::BTreeMap;

use authusers_domain::import::ImportedUser;
use authusers_domain::{Email, Money, PasswordHash, PersonName, UserId, UserStatus};
use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

/// The fields of the user model, by what they mean here; each holds the
/// name the model gives it (`--field real_balance=wallet_real`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldNames(BTreeMap<&'static str, String>);

/// What a field means here, and the name Django's model (and the old
/// service's) gave it.
const FIELDS: [&str; 12] = [
    "email",
    "password",
    "first_name",
    "last_name",
    "is_staff",
    "is_superuser",
    "is_active",
    "status",
    "real_balance",
    "virtual_balance",
    "date_joined",
    "last_login",
];

impl Default for FieldNames {
    fn default() -> Self {
        Self(
            FIELDS
                .iter()
                .map(|field| (*field, (*field).to_owned()))
                .collect(),
        )
    }
}

/// A `--field` flag that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FieldFlagError {
    #[error("--field {0:?}: expected FIELD=NAME, as real_balance=wallet_real")]
    NotAnAssignment(String),
    #[error("--field {assignment:?}: {meaning:?} is not one of {}", FIELDS.join(", "))]
    UnknownField { assignment: String, meaning: String },
}

impl FieldNames {
    /// Renames one field, from `meaning=name` (`real_balance=wallet_real`).
    pub fn rename(&mut self, assignment: &str) -> Result<(), FieldFlagError> {
        let (meaning, name) = assignment
            .split_once('=')
            .map(|(meaning, name)| (meaning.trim(), name.trim()))
            .filter(|(_, name)| !name.is_empty())
            .ok_or_else(|| FieldFlagError::NotAnAssignment(assignment.to_owned()))?;
        let known = FIELDS
            .iter()
            .find(|field| **field == meaning)
            .ok_or_else(|| FieldFlagError::UnknownField {
                assignment: assignment.to_owned(),
                meaning: meaning.to_owned(),
            })?;
        self.0.insert(known, name.to_owned());
        Ok(())
    }

    /// The model's name for `meaning`; every meaning has one.
    fn of<'a>(&'a self, meaning: &'a str) -> &'a str {
        self.0.get(meaning).map_or(meaning, String::as_str)
    }
}

/// Why a record was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    #[error("not a record of dumpdata (an object with model, pk and fields)")]
    NotARecord,
    #[error("its pk is not a whole number from 1")]
    InvalidPk,
    #[error("it has no {0}")]
    MissingEmail(String),
    #[error("{field} {value:?} is not an e-mail address")]
    InvalidEmail { field: String, value: String },
    #[error("it has no {0}")]
    MissingPassword(String),
    #[error("{field} {value} is not an amount of money here (at least 0, at most 2 decimal places, at most 9999999999999.99)")]
    InvalidBalance { field: String, value: String },
    #[error("{field} {value} is not a date and time")]
    InvalidDate { field: String, value: String },
    #[error("{field} {value} is not pending, approved or rejected")]
    InvalidStatus { field: String, value: String },
    #[error("{field} {value} is not of the type the field has")]
    InvalidField { field: String, value: String },
}

impl SkipReason {
    /// The reason as summaries and reports count it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotARecord => "not_a_record",
            Self::InvalidPk => "invalid_pk",
            Self::MissingEmail(_) => "missing_email",
            Self::InvalidEmail { .. } => "invalid_email",
            Self::MissingPassword(_) => "missing_password",
            Self::InvalidBalance { .. } => "invalid_balance",
            Self::InvalidDate { .. } => "invalid_date",
            Self::InvalidStatus { .. } => "invalid_status",
            Self::InvalidField { .. } => "invalid_field",
        }
    }
}

/// A record read as a user, with what is worth a warning.
#[derive(Debug)]
pub struct Mapped {
    pub user: ImportedUser,
    pub warnings: Vec<String>,
}

/// What a record is.
#[derive(Debug)]
pub enum Reading {
    /// A record of another model: counted and passed over.
    OtherModel,
    User(Box<Mapped>),
    /// Skipped, with the record's pk when it had a usable one.
    Skipped {
        pk: Option<i64>,
        reason: SkipReason,
    },
}

/// Reads one record of `model` (`users.user`, compared in any case).
pub fn read_record(record: &Value, model: &str, names: &FieldNames) -> Reading {
    let Some(object) = record.as_object() else {
        return skipped(None, SkipReason::NotARecord);
    };
    let Some(record_model) = object.get("model").and_then(Value::as_str) else {
        return skipped(None, SkipReason::NotARecord);
    };
    if !record_model.eq_ignore_ascii_case(model) {
        return Reading::OtherModel;
    }
    let pk = object
        .get("pk")
        .and_then(Value::as_i64)
        .filter(|pk| *pk >= 1);
    let Some(fields) = object.get("fields").and_then(Value::as_object) else {
        return skipped(pk, SkipReason::NotARecord);
    };
    let Some(pk) = pk else {
        return skipped(None, SkipReason::InvalidPk);
    };
    match user(pk, &Fields { fields, names }) {
        Ok(mapped) => Reading::User(Box::new(mapped)),
        Err(reason) => skipped(Some(pk), reason),
    }
}

fn skipped(pk: Option<i64>, reason: SkipReason) -> Reading {
    Reading::Skipped { pk, reason }
}

/// A record's `fields`, read by meaning.
struct Fields<'a> {
    fields: &'a Map<String, Value>,
    names: &'a FieldNames,
}

impl<'a> Fields<'a> {
    /// The field's name and its value; `None` when absent or null.
    fn get<'m>(&'m self, meaning: &'m str) -> (&'m str, Option<&'a Value>) {
        let name = self.names.of(meaning);
        let value = self.fields.get(name).filter(|value| !value.is_null());
        (name, value)
    }

    fn text(&self, meaning: &str) -> Result<Option<&'a str>, SkipReason> {
        match self.get(meaning) {
            (_, None) => Ok(None),
            (_, Some(Value::String(text))) => Ok(Some(text)),
            (field, Some(other)) => Err(SkipReason::InvalidField {
                field: field.to_owned(),
                value: other.to_string(),
            }),
        }
    }

    fn flag(&self, meaning: &str, default: bool) -> Result<bool, SkipReason> {
        match self.get(meaning) {
            (_, None) => Ok(default),
            (_, Some(Value::Bool(flag))) => Ok(*flag),
            (field, Some(other)) => Err(SkipReason::InvalidField {
                field: field.to_owned(),
                value: other.to_string(),
            }),
        }
    }

    /// A DecimalField: Django writes a string ("150.25"); a number is taken
    /// from its exact text, never through a float. Absent is zero.
    fn money(&self, meaning: &str) -> Result<Money, SkipReason> {
        let (field, value) = self.get(meaning);
        let text = match value {
            None => return Ok(Money::ZERO),
            Some(Value::String(text)) => text.trim().to_owned(),
            Some(Value::Number(number)) => number.to_string(),
            Some(other) => other.to_string(),
        };
        Decimal::from_str_exact(&text)
            .ok()
            .and_then(|amount| Money::from_decimal(amount).ok())
            .ok_or_else(|| SkipReason::InvalidBalance {
                field: field.to_owned(),
                value: value.map(Value::to_string).unwrap_or_default(),
            })
    }

    /// A DateTimeField as dumpdata writes it: RFC 3339 (`…Z` with
    /// USE_TZ), or without a zone (without USE_TZ), then taken as UTC.
    fn time(&self, meaning: &str) -> Result<Option<DateTime<Utc>>, SkipReason> {
        let (field, value) = self.get(meaning);
        let invalid = |value: &Value| SkipReason::InvalidDate {
            field: field.to_owned(),
            value: value.to_string(),
        };
        let Some(value) = value else {
            return Ok(None);
        };
        let text = value.as_str().ok_or_else(|| invalid(value))?;
        if let Ok(time) = DateTime::parse_from_rfc3339(text) {
            return Ok(Some(time.with_timezone(&Utc)));
        }
        NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
            .map(|naive| Some(naive.and_utc()))
            .map_err(|_| invalid(value))
    }
}

fn user(pk: i64, fields: &Fields<'_>) -> Result<Mapped, SkipReason> {
    let mut warnings = Vec::new();
    let (email_field, _) = fields.get("email");
    let raw_email = fields
        .text("email")?
        .filter(|email| !email.trim().is_empty())
        .ok_or_else(|| SkipReason::MissingEmail(email_field.to_owned()))?;
    // Stored as the old service had it when today's rules refuse it but
    // it could still be an address (login finds it the same way).
    let email = match (Email::parse(raw_email), Email::for_lookup(raw_email)) {
        (Ok(email), _) => email,
        (Err(refused), Some(as_stored)) => {
            warnings.push(format!(
                "{email_field} {raw_email:?} is imported as stored, though registration would refuse it now ({refused})"
            ));
            as_stored
        }
        (Err(_), None) => {
            return Err(SkipReason::InvalidEmail {
                field: email_field.to_owned(),
                value: raw_email.to_owned(),
            })
        }
    };
    let (password_field, _) = fields.get("password");
    let password = fields
        .text("password")?
        .ok_or_else(|| SkipReason::MissingPassword(password_field.to_owned()))?;
    let is_active = fields.flag("is_active", true)?;
    let status = match fields.text("status")? {
        None => UserStatus::Approved,
        Some(raw) => UserStatus::parse(raw).ok_or_else(|| SkipReason::InvalidStatus {
            field: fields.get("status").0.to_owned(),
            value: format!("{raw:?}"),
        })?,
    };
    let (joined_field, _) = fields.get("date_joined");
    let date_joined = fields
        .time("date_joined")?
        .ok_or_else(|| SkipReason::InvalidDate {
            field: joined_field.to_owned(),
            value: "null".into(),
        })?;
    Ok(Mapped {
        user: ImportedUser {
            id: UserId(pk),
            email,
            first_name: PersonName::from_stored(
                fields.text("first_name")?.unwrap_or("").to_owned(),
            ),
            last_name: PersonName::from_stored(fields.text("last_name")?.unwrap_or("").to_owned()),
            password_hash: PasswordHash::new(password.to_owned()),
            status,
            is_admin: fields.flag("is_staff", false)? || fields.flag("is_superuser", false)?,
            is_active,
            date_joined,
            last_login: fields.time("last_login")?,
            real_balance: fields.money("real_balance")?,
            virtual_balance: fields.money("virtual_balance")?,
        },
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(fields: Value) -> Value {
        json!({"model": "users.user", "pk": 3, "fields": fields})
    }

    fn full() -> Value {
        json!({
            "password": "pbkdf2_sha256$1000$salt$hash",
            "last_login": "2024-01-20T08:30:15.123Z",
            "is_superuser": false,
            "email": "alice@example.com",
            "first_name": "Alice",
            "last_name": "Default",
            "is_staff": true,
            "is_active": false,
            "date_joined": "2024-01-01T10:00:00Z",
            "status": "rejected",
            "real_balance": "150.25",
            "virtual_balance": "10.00",
            "groups": [],
        })
    }

    fn read(value: Value) -> Result<Mapped, SkipReason> {
        match read_record(&value, "users.user", &FieldNames::default()) {
            Reading::User(mapped) => Ok(*mapped),
            Reading::Skipped { reason, .. } => Err(reason),
            Reading::OtherModel => panic!("another model"),
        }
    }

    #[test]
    fn every_field_is_read_as_what_it_means_here() {
        let user = read(record(full())).unwrap().user;
        assert_eq!(user.id, UserId(3));
        assert_eq!(user.email.as_str(), "alice@example.com");
        assert_eq!(user.status, UserStatus::Rejected);
        assert!(user.is_admin && !user.is_active);
        assert_eq!(user.real_balance.minor_units(), 15_025);
        assert_eq!(user.virtual_balance.minor_units(), 1_000);
        assert_eq!(user.date_joined.to_rfc3339(), "2024-01-01T10:00:00+00:00");
        assert_eq!(user.last_login.unwrap().timestamp_millis() % 1000, 123);
        assert_eq!(user.password_hash.as_str(), "pbkdf2_sha256$1000$salt$hash");
    }

    #[test]
    fn without_a_status_field_an_account_is_approved_and_keeps_is_active() {
        let mut fields = full();
        fields.as_object_mut().unwrap().remove("status");
        let user = read(record(fields)).unwrap().user;
        assert_eq!(user.status, UserStatus::Approved);
        assert!(!user.is_active);
    }

    #[test]
    fn renamed_fields_are_read_under_their_names() {
        let mut names = FieldNames::default();
        names.rename("real_balance=wallet_real").unwrap();
        let mut fields = full();
        let object = fields.as_object_mut().unwrap();
        object.remove("real_balance");
        object.insert("wallet_real".into(), json!("7.00"));
        let Reading::User(mapped) = read_record(&record(fields), "users.user", &names) else {
            panic!("not read");
        };
        assert_eq!(mapped.user.real_balance.minor_units(), 700);
        assert!(names.rename("nonsense=x").is_err());
        assert!(names.rename("real_balance").is_err());
        assert!(names.rename("real_balance=").is_err());
    }

    #[test]
    fn other_models_are_passed_over_and_bad_records_say_why() {
        let group = json!({"model": "auth.group", "pk": 1, "fields": {"name": "staff"}});
        assert!(matches!(
            read_record(&group, "users.user", &FieldNames::default()),
            Reading::OtherModel
        ));
        let with = |field: &str, value: Value| {
            let mut fields = full();
            fields[field] = value;
            read(record(fields)).unwrap_err().code()
        };
        let without = |field: &str| {
            let mut fields = full();
            fields.as_object_mut().unwrap().remove(field);
            read(record(fields)).unwrap_err().code()
        };
        assert_eq!(with("real_balance", json!("-5.00")), "invalid_balance");
        assert_eq!(with("real_balance", json!("12.345")), "invalid_balance");
        assert_eq!(with("virtual_balance", json!("abc")), "invalid_balance");
        assert_eq!(
            with("real_balance", json!("10000000000000.00")),
            "invalid_balance"
        );
        assert_eq!(with("email", json!("")), "missing_email");
        assert_eq!(without("email"), "missing_email");
        assert_eq!(with("email", json!("no at sign")), "invalid_email");
        assert_eq!(without("password"), "missing_password");
        assert_eq!(with("date_joined", json!("not-a-date")), "invalid_date");
        assert_eq!(with("status", json!("archived")), "invalid_status");
        assert_eq!(with("is_staff", json!("yes")), "invalid_field");
        assert!(matches!(
            read_record(&json!([1]), "users.user", &FieldNames::default()),
            Reading::Skipped {
                reason: SkipReason::NotARecord,
                ..
            }
        ));
        let no_pk = json!({"model": "users.user", "pk": "x", "fields": full()});
        assert!(matches!(
            read_record(&no_pk, "users.user", &FieldNames::default()),
            Reading::Skipped {
                reason: SkipReason::InvalidPk,
                pk: None
            }
        ));
    }

    #[test]
    fn an_address_todays_rules_refuse_is_kept_with_a_warning() {
        let mut fields = full();
        fields["email"] = json!("odd..dots@example.com");
        let mapped = read(record(fields)).unwrap();
        assert_eq!(mapped.user.email.as_str(), "odd..dots@example.com");
        assert_eq!(mapped.warnings.len(), 1, "{:?}", mapped.warnings);
    }

    #[test]
    fn a_date_without_a_zone_is_taken_as_utc() {
        let mut fields = full();
        fields["date_joined"] = json!("2024-01-01T10:00:00.5");
        let user = read(record(fields)).unwrap().user;
        assert_eq!(user.date_joined.timestamp_millis() % 1000, 500);
    }
}
