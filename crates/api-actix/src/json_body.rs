//! The JSON request body extractor: size limit, content type, unknown-field
//! refusal, and errors that name the field, all as problem+json.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use authusers_domain::FieldErrors;
use serde::de::DeserializeOwned;

use crate::problem::Problem;

/// Bodies over this size are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request body type, with the fields it accepts. Any other field is
/// refused, so that no client can set what it must not (mass assignment).
pub trait RequestBody: DeserializeOwned {
    const FIELDS: &'static [&'static str];
}

/// A JSON body of type `T`, or why there is none.
///
/// The extractor itself never fails: actix extracts a handler's arguments
/// concurrently and answers with whichever error comes first, so a body
/// error could otherwise overtake the 401 or 403 of an authentication
/// argument. Handlers call [`JsonBody::parsed`] once authentication passed.
#[derive(Debug)]
pub struct JsonBody<T>(Result<T, Problem>);

impl<T> JsonBody<T> {
    pub fn parsed(self) -> Result<T, Problem> {
        self.0
    }
}

impl<T: RequestBody + 'static> FromRequest for JsonBody<T> {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = is_json(req);
        let bytes = Bytes::from_request(req, payload);
        Box::pin(async move {
            let read = bytes.await;
            if !content_type_ok {
                return Ok(JsonBody(Err(Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "Unsupported media type",
                    "Send the body as application/json.",
                ))));
            }
            let parsed = read
                .map_err(|e| {
                    if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large()
                    } else {
                        Problem::malformed_json("The request body could not be read.")
                    }
                })
                .and_then(|bytes| parse(&bytes));
            Ok(JsonBody(parsed))
        })
    }
}

fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "Payload too large",
        format!("The request body must be at most {MAX_BODY_BYTES} bytes."),
    )
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses `bytes` as a JSON object of `T`, reporting unknown fields and
/// type errors per field.
pub fn parse<T: RequestBody>(bytes: &[u8]) -> Result<T, Problem> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Problem::malformed_json(format!("The body is not valid JSON: {e}.")))?;
    let Some(object) = value.as_object() else {
        return Err(Problem::field_errors(
            "validation_failed",
            FieldErrors::single("non_field_errors", "Expected a JSON object."),
        ));
    };
    let mut unknown = FieldErrors::new();
    for key in object
        .keys()
        .filter(|key| !T::FIELDS.contains(&key.as_str()))
    {
        unknown.add(key, "Unknown field.");
    }
    unknown.into_result().map_err(Problem::validation)?;
    serde_path_to_error::deserialize(value).map_err(|error| {
        let field = error.path().to_string();
        let field = if field == "." {
            "non_field_errors".to_owned()
        } else {
            field
        };
        Problem::validation(FieldErrors::single(&field, error.inner().to_string()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        name: Option<String>,
        count: Option<u32>,
    }

    impl RequestBody for Body {
        const FIELDS: &'static [&'static str] = &["name", "count"];
    }

    fn errors_of(result: Result<Body, Problem>) -> String {
        let problem = result.unwrap_err();
        format!("{problem}")
    }

    #[test]
    fn accepts_known_fields() {
        let body: Body = parse(br#"{"name": "a", "count": 2}"#).unwrap();
        assert_eq!(body.name.as_deref(), Some("a"));
        assert_eq!(body.count, Some(2));
    }

    #[test]
    fn refuses_unknown_fields_by_name() {
        let problem = parse::<Body>(br#"{"name": "a", "is_admin": true}"#).unwrap_err();
        assert_eq!(problem.code(), "validation_failed");
        assert!(errors_of(parse::<Body>(br#"{"is_admin": true}"#)).contains("is_admin"));
    }

    #[test]
    fn names_the_field_of_a_type_error() {
        let text = errors_of(parse::<Body>(br#"{"count": "many"}"#));
        assert!(text.contains("count"), "{text}");
    }

    #[test]
    fn refuses_non_objects_and_broken_json() {
        assert_eq!(
            parse::<Body>(b"[1]").unwrap_err().code(),
            "validation_failed"
        );
        assert_eq!(parse::<Body>(b"{").unwrap_err().code(), "malformed_json");
    }
}
