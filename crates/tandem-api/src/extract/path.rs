//! `PathParams`: the route's path parameters by name, each decoded on its own.
//!
//! axum's `Path` fails as a whole, with a plain-text 400, when any one parameter is not
//! UTF-8 once percent-decoded, or does not parse as the asked type. Every id in a path is
//! instead read here, and a parameter that is not UTF-8 or not an id is simply not
//! found: `/jobs/{job_id}/artifacts/%ff` is "no such artifact" for a job that exists,
//! and every malformed id is 404 `not_found`, like an id nobody has.

use std::borrow::Cow;
use std::convert::Infallible;

use axum::extract::{FromRequestParts, MatchedPath, OriginalUri, RawPathParams};
use axum::http::request::Parts;
use percent_encoding::percent_decode_str;
use uuid::Uuid;

/// The path parameters of the matched route, in path order; a value is `None` when it
/// is not UTF-8 once percent-decoded.
#[derive(Debug, Clone, Default)]
pub struct PathParams(Vec<(String, Option<String>)>);

impl PathParams {
    /// Reads the parameters of `parts`; never fails (a missing parameter is `None`).
    pub async fn read(parts: &mut Parts) -> Self {
        match RawPathParams::from_request_parts(parts, &()).await {
            Ok(params) => Self(
                params
                    .iter()
                    .map(|(name, value)| (name.to_owned(), Some(value.to_owned())))
                    .collect(),
            ),
            // axum keeps no value once one is not UTF-8: decode each segment of the
            // request path under the route's template instead.
            Err(_) => Self::decode_each(parts),
        }
    }

    fn decode_each(parts: &Parts) -> Self {
        let Some(template) = parts.extensions.get::<MatchedPath>() else {
            return Self::default();
        };
        // A nested router sees its own part of the path; the template is the whole one.
        let path = parts
            .extensions
            .get::<OriginalUri>()
            .map_or(parts.uri.path(), |OriginalUri(uri)| uri.path());
        let params = template
            .as_str()
            .split('/')
            .zip(path.split('/'))
            .filter_map(|(pattern, segment)| {
                let name = pattern.strip_prefix('{')?.strip_suffix('}')?;
                let value = percent_decode_str(segment)
                    .decode_utf8()
                    .ok()
                    .map(Cow::into_owned);
                Some((name.to_owned(), value))
            })
            .collect();
        Self(params)
    }

    /// The parameter `name`, if the route has it and it is UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, value)| value.as_deref())
    }

    /// The parameter `name` as an id.
    pub fn uuid(&self, name: &str) -> Option<Uuid> {
        self.get(name).and_then(|value| Uuid::parse_str(value).ok())
    }

    /// The route's first parameter as an id (`/projects/{project_id}/…`).
    pub fn first_uuid(&self) -> Option<Uuid> {
        let (_, value) = self.0.first()?;
        value
            .as_deref()
            .and_then(|value| Uuid::parse_str(value).ok())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Self::read(parts).await)
    }
}
