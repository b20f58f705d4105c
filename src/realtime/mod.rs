//! Socket.IO: authenticate on connect, send the snapshot, route client
//! events, track presence. Event handlers live in `events`; every event is
//! answered with an ack `{ok: true, data}` or `{ok: false, error}`.

mod connect;
mod events;

use socketioxide::SocketIo;
use socketioxide::handler::ConnectHandler;

/// What a socket is, once its token verified: a member of one room.
#[derive(Clone, Debug)]
pub struct Session {
    pub room_id: String,
    pub member_id: String,
}

/// Registers the `/` namespace on `io`.
pub fn register(io: &SocketIo) {
    io.ns("/", connect::on_connect.with(connect::authenticate));
}
