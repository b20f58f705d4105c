//! Music services (Spotify first): see `docs/providers-plan.md`. Today only
//! the sealing of stored grants is here.

pub mod seal;
