//! `Authorization: Bearer <member token>` on REST routes: the token a join
//! returned, naming one member of one room, or a screen token (a screen is
//! let in only where `watcher_of` is asked: it is no member).

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::domain::{DomainError, Member, Room};
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::token::Claims;

/// A verified member token; a missing, malformed or forged one is refused
/// with `unauthorized`.
pub struct Bearer(pub Claims);

fn claims(parts: &Parts, app: &AppState) -> Option<Result<Claims>> {
    let header = parts.headers.get(AUTHORIZATION)?;
    // The scheme is case-insensitive (RFC 9110).
    let token = header.to_str().ok().and_then(|v| v.split_once(' ')).filter(|(s, _)| s.eq_ignore_ascii_case("bearer"));
    let token = token.map(|(_, t)| t);
    Some(token.and_then(|t| app.tokens.verify_watcher(t.trim())).ok_or(AppError::Unauthorized))
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self> {
        claims(parts, app).unwrap_or(Err(AppError::Unauthorized)).map(Self)
    }
}

/// No header is fine; a header with a bad token is still refused.
impl OptionalFromRequestParts<AppState> for Bearer {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Option<Self>> {
        claims(parts, app).transpose().map(|c| c.map(Self))
    }
}

impl Bearer {
    /// The token's member in `room`: `not_a_member` when the token belongs
    /// to another room, `banned` for a banned member.
    pub fn member_of<'r>(&self, room: &'r Room) -> Result<&'r Member> {
        if self.0.r != room.id {
            return Err(DomainError::NotAMember.into());
        }
        if crate::domain::is_screen_id(&self.0.m) {
            return Err(DomainError::ScreenCannotAct.into());
        }
        let member = room.member(&self.0.m).ok_or(AppError::Unauthorized)?;
        if member.banned {
            return Err(AppError::Banned);
        }
        Ok(member)
    }

    /// A member of `room` or one of its screens: who may watch and listen.
    pub fn watcher_of(&self, room: &Room) -> Result<()> {
        if self.0.r == room.id && room.screens.contains_key(&self.0.m) {
            return Ok(());
        }
        self.member_of(room).map(|_| ())
    }
}
