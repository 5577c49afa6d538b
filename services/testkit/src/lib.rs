//! The shared test kit (a dev-dependency only; never in the binary):
//! ID-token minting ([`jwt`]) and temporary databases ([`db`]), so that test
//! crates stop carrying their own copies.

pub mod db;
pub mod jwt;
