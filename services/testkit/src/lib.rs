//! The shared test kit (a dev-dependency only; never in the binary):
//! ID-token minting ([`jwt`]), temporary databases and the log engine's
//! in-memory store ([`db`]), Fulcio-shaped certificates ([`certs`]), a
//! throwaway CA ([`ca`]), `app()` calls ([`http`]) and an in-process Rekor
//! ([`stack`]), so
//! that test crates stop carrying their own copies. Proposed Rekor entries
//! and Fulcio requests are built with the shared wire types
//! (`sigstead_rekor_types::wire`, `sigstead_fulcio::wire`), which the bench
//! (inside the binary) uses too.

pub mod ca;
pub mod certs;
pub mod db;
pub mod http;
pub mod jwt;
pub mod stack;
