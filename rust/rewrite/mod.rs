//! Rewrite: replace text in response bodies (literal or regex), streaming.
pub mod codecs;
pub mod filter;
pub mod literal;
pub mod py;
pub mod regex_rules;
pub mod rules;
