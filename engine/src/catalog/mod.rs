//! The configuration catalog: typed create, read, update and delete of the resources an admin
//! manages, over any [`Store`](crate::store::Store), plus API token issuing and lookup.
//!
//! It decides what the store must check for each resource (references, unique values,
//! ownership) and turns store refusals into errors that name the resources involved.

mod error;
mod resource;
mod service;
mod tokens;

pub use error::CatalogError;
pub use resource::ConfigResource;
pub use service::{Catalog, MAX_PAGE_SIZE, Page, Stored};
pub use tokens::{IssuedToken, TOKEN_PREFIX, TokenOwner};
