//! Static: serve files under a root the way WhiteNoise does. The pure core so far: which
//! file a request path names (`path`), and what Range asks (`crate::http::range`).
pub mod index;
pub mod mime;
pub mod path;
pub mod respond;
