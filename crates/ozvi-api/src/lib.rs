//! Ozvi's HTTP API as data: the one definition of every request and response
//! body, error code, header, page size and route that the relay serves and
//! the desk, the auditor and the load tool call. The OpenAPI document the
//! relay serves is built from it (`openapi`); the person's page keeps its
//! own thin fetch layer (`web-client/api.js`), which a test holds against
//! the same document.
//!
//! Layout:
//! - [`error`]: [`ErrorCode`] (string, status, message) and [`ErrorBody`].
//! - [`headers`]: header names and the formats of their values.
//! - [`limits`]: page sizes and body limits.
//! - [`public`], [`person`], [`staff`]: the bodies, by who calls the route.
//! - [`routes`]: every route as data, and [`routes::paths`].
//! - [`openapi`]: the document built from all of the above.
//!
//! Binary values travel as canonical base64url without padding
//! (`ozvi_crypto::format::b64`); the types here keep them as strings, and
//! the receiver decodes and checks them. Serde only: no web framework, no
//! async, no storage; builds for `wasm32-unknown-unknown`.

pub mod error;
pub mod headers;
pub mod limits;
pub mod openapi;
pub mod person;
pub mod public;
pub mod routes;
pub mod staff;

pub use error::{ErrorBody, ErrorCode};
