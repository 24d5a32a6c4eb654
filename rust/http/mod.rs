//! Pure HTTP shared by the cores (no pyo3): the response head, media types,
//! Accept-Encoding, HTTP dates and Cache-Control lists.
pub mod accept_encoding;
pub mod cache_control;
pub mod head;
pub mod http_date;
pub mod media_type;
