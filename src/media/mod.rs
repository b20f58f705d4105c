//! Media (room photos): where their bytes live. `BlobStore` keeps them as
//! files under the data directory (embedded) or in GridFS in the shared
//! MongoDB (scale-out), behind one trait with one conformance suite.
//!
//! Owns: `BlobStore` and its implementations, the photo pipeline. May use:
//! codes, error. Must not import: services, state, transport.

mod blobs;
pub mod pipeline;

pub use blobs::{Blob, BlobError, BlobInfo, BlobResult, BlobStore, ByteStream, FileBlobStore, GridFsBlobStore};
