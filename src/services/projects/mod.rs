//! Projects: listing, detail, creation, accessibility, membership and access requests.
//!
//! Every identifier is validated before a request is built, and every path segment goes through
//! `seg`, so a project id can never address a different resource than the one named.

mod access;
mod detail;
mod listing;

pub use access::*;
pub use detail::*;
pub use listing::*;

#[cfg(test)]
use listing::first_chars;

#[cfg(test)]
mod tests;
