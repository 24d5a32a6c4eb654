//! Router: method + path dispatch to WSGI apps, with prefix mounts. Pure: `pattern`
//! (templates), `routes` (what is added, conflicts, names), `table` (the route trie),
//! `dispatch` (the decision per request), `build_url` (`url_for`) and `url` (path text).
//! `compiled` is the Python hook holding the apps and carrying a decision out; `py` is the
//! Python class.
pub mod build_url;
pub mod compiled;
pub mod dispatch;
pub mod pattern;
pub mod py;
pub mod routes;
pub mod table;
pub mod url;
