//! The certificate profile types (`sigstead_profile`), which [`crate::identity`]
//! and [`crate::ci`] both use.

pub use sigstead_profile::{CertExtension, ExtensionEncoding, SubjectAltName};
