//! The Redis connections of a scale-out node: one client for our own
//! commands (presence, rate limits, room cache) and the subscriber client
//! socketioxide-redis broadcasts through. Both speak RESP3 and reconnect on
//! their own, forever, with backoff; commands fail after half a second while
//! Redis is away, so nothing waits on it indefinitely.
//!
//! Each of our operations (a command or a few) goes through `timed`, which
//! records its time and failures for operators.
//!
//! Owns: the Redis connections. May use: `telemetry` (a leaf too).

use std::future::Future;
use std::time::Duration;

use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::{Builder, RespVersion};
use socketioxide_redis::{RedisAdapterConfig, RedisAdapterCtr};

/// How long one Redis command may take before it fails. Redis only speeds
/// the write path up (rate limits, the room lock and cache, fan-out all
/// have a fallback), and a whole command must answer within two seconds
/// (`rooms::COMMAND_DEADLINE`): a command caught in flight when Redis dies
/// must cost a fraction of that. Commands answer in well under a
/// millisecond on a healthy Redis.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(500);
/// How long connecting to Redis may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

pub struct Redis {
    pub client: Client,
    /// The adapter's connection, watched to know when broadcasts cannot
    /// leave this node.
    pub subscriber: SubscriberClient,
    pub adapter: RedisAdapterCtr<socketioxide_redis::drivers::fred::FredDriver>,
}

impl Redis {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let mut config = Config::from_url(url)?;
        config.version = RespVersion::RESP3;
        config.fail_fast = true;
        let mut builder = Builder::from_config(config);
        builder
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
            .with_connection_config(|c| c.connection_timeout = CONNECT_TIMEOUT)
            .with_performance_config(|p| {
                p.default_command_timeout = COMMAND_TIMEOUT;
                p.broadcast_channel_capacity = 4096;
            });
        let client = builder.build()?;
        client.init().await?;
        let subscriber = builder.build_subscriber_client()?;
        let config = RedisAdapterConfig::new().with_prefix("crowdjuke");
        let adapter = RedisAdapterCtr::new_with_fred_config(subscriber.clone(), config).await?;
        tokio::spawn(resubscribe_after_reconnects(subscriber.clone()));
        Ok(Self { client, subscriber, adapter })
    }
}

/// Runs one of our Redis operations (one command or a few), recording its
/// time (`crowdjuke_redis_call_seconds{operation}`) and, when it fails, the
/// kind of failure (`crowdjuke_redis_errors_total{operation,error}`).
pub async fn timed<T>(operation: &'static str, work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    use crate::telemetry::{Call, REDIS_ERRORS, REDIS_SECONDS};
    let timer = Call::start(REDIS_SECONDS, REDIS_ERRORS, &[("operation", operation)]);
    let result = work.await;
    timer.finish(result.as_ref().err().map(|e| match e.kind() {
        ErrorKind::IO => "io",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Auth => "auth",
        ErrorKind::Canceled => "canceled",
        _ => "other",
    }));
    result
}

/// Fails at once while the connection is down (fred is reconnecting), so
/// callers fall back to this node's view instead of waiting for a timeout.
pub fn ensure_up(client: &impl ClientLike) -> Result<(), Error> {
    if client.is_connected() { Ok(()) } else { Err(Error::new(ErrorKind::IO, "Redis is not connected")) }
}

/// Re-subscribes the adapter's channels each time the subscriber reconnects.
/// Neither socketioxide-redis nor fred's `manage_subscriptions` does it for
/// sharded channels: without this, broadcasts after a Redis restart are
/// accepted and silently lost.
async fn resubscribe_after_reconnects(subscriber: SubscriberClient) {
    use tokio::sync::broadcast::error::RecvError;
    let mut reconnects = subscriber.reconnect_rx();
    loop {
        match reconnects.recv().await {
            Ok(_) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return,
        }
        for channel in subscriber.tracked_shard_channels() {
            if let Err(e) = subscriber.ssubscribe(channel.to_string()).await {
                tracing::warn!(%channel, error = %e, "could not re-subscribe after a Redis reconnection");
            }
        }
        tracing::info!("Redis reconnected, adapter channels re-subscribed");
    }
}
