//! Static: serve files under a root the way WhiteNoise does. The pure core: which file a
//! request path names (`path`, `lookup`), the index of the root (`index`), media types and
//! ETags (`mime`), what a file's response is (`respond`, with `crate::http::range`), the
//! small files' bytes kept (`held`), the options checked (`config`); then the file body (`body`) and the Python class
//! (`py`).
pub mod body;
pub mod config;
pub mod held;
pub mod index;
pub mod lookup;
pub mod mime;
pub mod path;
pub mod py;
pub mod respond;
