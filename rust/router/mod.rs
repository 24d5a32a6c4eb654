//! Router: method + path dispatch to WSGI apps, with prefix mounts. `pattern`, `routes`,
//! `table` and `url` are pure; `py` is the Python class.
pub mod build_url;
pub mod pattern;
pub mod py;
pub mod routes;
pub mod table;
pub mod url;
