//! Full-text search. Today: the embedded tantivy index over the library's
//! tracks, with prefix matching on the last word and typo tolerance.

mod tracks;

pub use tracks::TrackIndex;
