//! Form bodies: `application/x-www-form-urlencoded` (Twilio, Mailgun's signature fields) and
//! `multipart/form-data` (Mailgun and SendGrid inbound e-mail).

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

/// Why a form body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// A multipart body came without a `Content-Type` header.
    #[error("multipart body without a Content-Type header")]
    MissingContentType,
    /// The `Content-Type` is not `multipart/form-data` with a boundary.
    #[error("Content-Type `{0}` is not multipart/form-data with a boundary")]
    NotMultipart(String),
    /// The multipart body is malformed.
    #[error("malformed multipart body: {0}")]
    Malformed(String),
    /// A required field is absent.
    #[error("missing form field `{0}`")]
    MissingField(String),
}

/// The fields of a URL-encoded form, in the order received; names may repeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form {
    fields: Vec<(String, String)>,
}

impl Form {
    /// Decodes `application/x-www-form-urlencoded` bytes (`+` is a space, `%XX` escapes).
    pub fn parse(body: &[u8]) -> Self {
        Form { fields: form_urlencoded::parse(body).into_owned().collect() }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, or a [`FormError::MissingField`].
    pub fn require(&self, name: &str) -> Result<&str, FormError> {
        self.get(name).ok_or_else(|| FormError::MissingField(name.into()))
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields.iter().filter(move |(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// All fields in the order received.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// All fields sorted by name (stable for equal names), as signature schemes such as
    /// Twilio's require.
    pub fn sorted(&self) -> Vec<(&str, &str)> {
        let mut fields: Vec<_> = self.iter().collect();
        fields.sort_by(|a, b| a.0.cmp(b.0));
        fields
    }

    /// The number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the form has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The form field name.
    pub name: String,
    /// The file name, for file uploads.
    pub filename: Option<String>,
    /// The part's own `Content-Type`, if it has one.
    pub content_type: Option<String>,
    /// The raw content.
    pub data: Bytes,
}

impl Part {
    /// The content as UTF-8 text (lossy: invalid bytes become U+FFFD).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// Encodes pairs as `application/x-www-form-urlencoded`, for a query string or a form body:
/// `encode(&[("q", "a b"), ("n", "1")])` is `q=a+b&n=1`.
pub fn encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// Parses a `multipart/form-data` body with the boundary from `content_type`.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Vec<Part>, FormError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| FormError::NotMultipart(content_type.into()))?;
    let body = Bytes::copy_from_slice(body);
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    // The body is already in memory, so multer's futures never wait: poll them to completion
    // directly instead of pulling an executor into every connector.
    while let Some(mut field) = ready(multipart.next_field())?.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let content_type = field.content_type().map(|m| m.to_string());
        let mut data = Vec::new();
        while let Some(chunk) = ready(field.chunk())?.map_err(malformed)? {
            data.extend_from_slice(&chunk);
        }
        parts.push(Part { name, filename, content_type, data: data.into() });
    }
    Ok(parts)
}

fn malformed(error: multer::Error) -> FormError {
    FormError::Malformed(error.to_string())
}

fn ready<F: Future>(future: F) -> Result<F::Output, FormError> {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => {
            Err(FormError::Malformed("multipart parser waited on an in-memory body".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_decodes_plus_and_percent() {
        let form =
            Form::parse(b"Body=Hello+w%C3%B6rld&From=%2B14155550100&MediaUrl0=a&MediaUrl0=b");
        assert_eq!(form.get("Body"), Some("Hello w\u{f6}rld"));
        assert_eq!(form.get("From"), Some("+14155550100"));
        assert_eq!(form.get_all("MediaUrl0").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(form.sorted()[0].0, "Body");
        assert!(matches!(form.require("To"), Err(FormError::MissingField(f)) if f == "To"));
    }

    #[test]
    fn multipart_reads_fields_and_files() {
        let body = "--XyZ\r\n\
            Content-Disposition: form-data; name=\"timestamp\"\r\n\r\n\
            1529006854\r\n\
            --XyZ\r\n\
            Content-Disposition: form-data; name=\"attachment-1\"; filename=\"a.txt\"\r\n\
            Content-Type: text/plain\r\n\r\n\
            hello\r\nworld\r\n\
            --XyZ--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XyZ", body.as_bytes()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "timestamp");
        assert_eq!(parts[0].text(), "1529006854");
        assert_eq!(parts[1].filename.as_deref(), Some("a.txt"));
        assert_eq!(parts[1].content_type.as_deref(), Some("text/plain"));
        assert_eq!(parts[1].text(), "hello\r\nworld");
    }

    #[test]
    fn multipart_errors_name_the_problem() {
        assert!(matches!(
            parse_multipart("application/json", b"{}"),
            Err(FormError::NotMultipart(_))
        ));
        let truncated = "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end";
        assert!(matches!(
            parse_multipart("multipart/form-data; boundary=XyZ", truncated.as_bytes()),
            Err(FormError::Malformed(_))
        ));
    }
}
