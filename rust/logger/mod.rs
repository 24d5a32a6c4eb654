//! Logger (issue 6, in progress): the pure format compiler and escaping. The class comes next.
pub mod format;
