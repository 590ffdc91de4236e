//! The SMS channel's pure parts: how texts are counted in segments.

pub mod segments;
