//! Pure HTTP shared by the cores (no pyo3): the response head, media types,
//! Accept-Encoding, HTTP dates and the wall clock, Cache-Control lists, preconditions and
//! byte ranges.
pub mod accept_encoding;
pub mod cache_control;
pub mod clock;
pub mod conditional;
pub mod head;
pub mod http_date;
pub mod media_type;
pub mod range;
