//! The JSON request body extractor: size limit, content type, unknown-field
//! refusal, and errors that name the field, all as problem+json.

use std::future::Future;
use std::pin::Pin;

use crate::http::field_messages::{FieldMessages, NON_FIELD_ERRORS};
use actix_web::http::{header, StatusCode};
use actix_web::web::Bytes;
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use crate::http::problem::Problem;

/// Bodies over this size are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request body type. A field its `Deserialize` does not name is refused,
/// so that no client can set what it must not (mass assignment).
pub trait RequestBody: DeserializeOwned {
    /// The fields the body accepts: those of its derived `Deserialize`, so
    /// that a field added to the struct cannot be missing here.
    fn fields() -> &'static [&'static str] {
        struct_fields::<Self>()
    }
}

/// The field names a derived `Deserialize` of a struct accepts, which it
/// hands to `deserialize_struct`; none for any other shape, so that such a
/// body accepts no field at all rather than every one.
fn struct_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Visitor};

    /// A deserializer that only notes the names it is asked for.
    struct FieldNames<'a>(&'a mut &'static [&'static str]);

    impl<'de> de::Deserializer<'de> for FieldNames<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("only the field names were asked for"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    // Always an error: the names are all that was wanted.
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
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

/// A body of type `T` as JSON or as an HTML form
/// (`application/x-www-form-urlencoded`, every value a string), for the
/// one route a plain HTML page posts to.
#[derive(Debug)]
pub struct JsonOrFormBody<T> {
    parsed: Result<T, Problem>,
    from_form: bool,
}

impl<T> JsonOrFormBody<T> {
    pub fn parsed(self) -> Result<T, Problem> {
        self.parsed
    }

    /// Whether the body came as a form, as a browser posts one.
    pub fn from_form(&self) -> bool {
        self.from_form
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    Json,
    Form,
    Other,
}

type BodyFuture<T> = Pin<Box<dyn Future<Output = (MediaType, Result<T, Problem>)>>>;

/// Reads the body and parses it as `T` if its media type is JSON, or a form
/// where `forms` allows; otherwise a 415.
fn read_body<T: RequestBody + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    forms: bool,
) -> BodyFuture<T> {
    let media_type = match media_type(req) {
        MediaType::Form if !forms => MediaType::Other,
        found => found,
    };
    let bytes = Bytes::from_request(req, payload);
    Box::pin(async move {
        let read = bytes.await;
        if media_type == MediaType::Other {
            let refused = Problem::unsupported_media_type("Send the body as application/json.");
            return (media_type, Err(refused));
        }
        let parsed = read
            .map_err(|e| {
                if e.as_response_error().status_code() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large()
                } else {
                    Problem::malformed_json("The request body could not be read.")
                }
            })
            .and_then(|bytes| match media_type {
                MediaType::Form => parse_form(&bytes),
                _ => parse(&bytes),
            });
        (media_type, parsed)
    })
}

impl<T: RequestBody + 'static> FromRequest for JsonBody<T> {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload, false);
        Box::pin(async move { Ok(JsonBody(body.await.1)) })
    }
}

impl<T: RequestBody + 'static> FromRequest for JsonOrFormBody<T> {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(req, payload, true);
        Box::pin(async move {
            let (media_type, parsed) = body.await;
            Ok(JsonOrFormBody {
                parsed,
                from_form: media_type == MediaType::Form,
            })
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

/// Whether the body is an HTML form (`application/x-www-form-urlencoded`),
/// the only body a form route reads.
pub fn is_form(req: &HttpRequest) -> bool {
    media_type(req) == MediaType::Form
}

fn media_type(req: &HttpRequest) -> MediaType {
    let Some(essence) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.split(';').next().unwrap_or_default().trim())
    else {
        return MediaType::Other;
    };
    let is = |expected: &str| essence.eq_ignore_ascii_case(expected);
    if is("application/json") || (essence.starts_with("application/") && essence.ends_with("+json"))
    {
        MediaType::Json
    } else if is("application/x-www-form-urlencoded") {
        MediaType::Form
    } else {
        MediaType::Other
    }
}

/// Parses a form as an object of strings, then as `T`; a field sent twice
/// is refused rather than guessed at.
fn parse_form<T: RequestBody>(bytes: &[u8]) -> Result<T, Problem> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
        .map_err(|e| Problem::malformed_json(format!("The form could not be read: {e}.")))?;
    let mut object = serde_json::Map::new();
    let mut repeated = FieldMessages::new();
    for (name, value) in pairs {
        if object.contains_key(&name) {
            repeated.add(&name, SENT_TWICE);
        }
        object.insert(name, serde_json::Value::String(value));
    }
    repeated.into_result().map_err(Problem::validation)?;
    parse_value(serde_json::Value::Object(object))
}

/// Parses `bytes` as a JSON object of `T`, reporting unknown fields and
/// type errors per field.
pub fn parse<T: RequestBody>(bytes: &[u8]) -> Result<T, Problem> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| Problem::malformed_json(format!("The body is not valid JSON: {e}.")))?;
    if let Some(field) = repeated_key(bytes) {
        return Err(Problem::validation(FieldMessages::single(
            &field, SENT_TWICE,
        )));
    }
    parse_value(value)
}

const SENT_TWICE: &str = "This field was sent more than once.";

/// The field under which some object of valid JSON `bytes` has a key twice
/// (the key itself at the top level), or `None`. serde_json keeps the last
/// of two equal keys; another parser may keep the first, so neither is
/// trusted.
fn repeated_key(bytes: &[u8]) -> Option<String> {
    let found = std::cell::RefCell::new(None);
    let seed = UniqueKeys {
        field: None,
        found: &found,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let _ = serde::de::DeserializeSeed::deserialize(seed, &mut deserializer);
    found.into_inner()
}

/// Walks a JSON value and stops at the first object with a repeated key,
/// noting the top-level field it is in.
#[derive(Clone, Copy)]
struct UniqueKeys<'a> {
    field: Option<&'a str>,
    found: &'a std::cell::RefCell<Option<String>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let field = self.field.unwrap_or(&key).to_owned();
            if !seen.insert(key.clone()) {
                *self.found.borrow_mut() = Some(field);
                return Err(serde::de::Error::custom("repeated key"));
            }
            map.next_value_seed(UniqueKeys {
                field: Some(&field),
                found: self.found,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A parsed JSON value as an object of `T`, reporting unknown fields and
/// type errors per field.
fn parse_value<T: RequestBody>(value: serde_json::Value) -> Result<T, Problem> {
    let Some(object) = value.as_object() else {
        return Err(Problem::field_errors(
            "validation_failed",
            FieldMessages::single(NON_FIELD_ERRORS, "Expected a JSON object."),
        ));
    };
    let mut unknown = FieldMessages::new();
    for key in object
        .keys()
        .filter(|key| !T::fields().contains(&key.as_str()))
    {
        unknown.add(key, "Unknown field.");
    }
    unknown.into_result().map_err(Problem::validation)?;
    serde_path_to_error::deserialize(value).map_err(|error| {
        let field = error.path().to_string();
        let field = if field == "." {
            NON_FIELD_ERRORS.to_owned()
        } else {
            field
        };
        Problem::validation(FieldMessages::single(&field, error.inner().to_string()))
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

    impl RequestBody for Body {}

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Renamed {
        #[serde(rename = "Name")]
        _name: Option<String>,
        #[serde(skip)]
        _internal: u32,
    }

    impl RequestBody for Renamed {}

    #[test]
    fn the_accepted_fields_are_those_serde_reads() {
        assert_eq!(Body::fields(), ["name", "count"]);
        assert_eq!(Renamed::fields(), ["Name"]);
        // Not a struct: nothing is accepted.
        assert!(struct_fields::<std::collections::HashMap<String, String>>().is_empty());
        assert!(struct_fields::<String>().is_empty());
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
    fn reads_forms_as_strings_and_refuses_repeated_fields() {
        let body: Body = parse_form(b"name=a%20b").unwrap();
        assert_eq!(body.name.as_deref(), Some("a b"));
        // Every form value is a string: a number field is a type error.
        assert!(errors_of(parse_form::<Body>(b"count=2")).contains("count"));
        let repeated = parse_form::<Body>(b"name=a&name=b").unwrap_err();
        assert!(format!("{repeated}").contains("name"));
        let unknown = parse_form::<Body>(b"is_admin=1").unwrap_err();
        assert_eq!(unknown.code(), "validation_failed");
    }

    #[test]
    fn a_key_twice_is_named_at_any_depth() {
        assert_eq!(repeated_key(br#"{"a": 1, "b": 2}"#), None);
        assert_eq!(repeated_key(br#"{"a": 1, "a": 2}"#).as_deref(), Some("a"));
        assert_eq!(
            repeated_key(br#"{"a": [{"x": 1}, {"y": 1, "y": 2}]}"#).as_deref(),
            Some("a")
        );
        assert_eq!(repeated_key(br#"{"a": {"b": 1.50, "c": "1e3"}}"#), None);
        assert_eq!(repeated_key(br#"[{"k": 1}, {"k": 2}]"#), None);
        let problem = parse::<Body>(br#"{"name": "a", "name": "b"}"#).unwrap_err();
        assert!(format!("{problem}").contains("name"));
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
