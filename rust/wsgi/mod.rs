//! PEP 3333 plumbing shared by every middleware: the `start_response` capture, the response
//! iterator, the body-filter contract and header helpers. No middleware re-implements any of
//! this; see docs/architecture.md.
pub mod answer;
pub mod chain;
pub mod composite;
pub mod errors;
pub mod filter;
pub mod gil;
pub mod head_out;
pub mod layer;
pub mod options;
pub mod request;
pub mod response;
pub mod start_response;
pub mod text;
