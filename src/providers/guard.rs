//! Every call to a music service passes this guard, so a slow or failing
//! service costs the party nothing: after `TRIP_AFTER` consecutive
//! failures (5xx, timeouts) calls fail at once for `OPEN_FOR`, and a 429's
//! `Retry-After` holds all calls until it has passed (the limit is per
//! app, not per user). Per node: each node learns on its own, which costs
//! at most a few extra failed calls.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::{ProviderError, ProviderResult};

const TRIP_AFTER: u32 = 5;
const OPEN_FOR: Duration = Duration::from_secs(30);
/// Longest `Retry-After` believed.
const MAX_RETRY_AFTER: u64 = 3_600;

#[derive(Default)]
pub struct Guard(Mutex<State>);

#[derive(Default)]
struct State {
    failures: u32,
    open_until: Option<Instant>,
    retry_at: Option<Instant>,
}

impl Guard {
    /// Runs `call` unless the breaker is open or a `Retry-After` holds.
    pub async fn call<T>(&self, call: impl Future<Output = ProviderResult<T>>) -> ProviderResult<T> {
        self.check()?;
        let result = call.await;
        self.record(&result);
        result
    }

    fn check(&self) -> ProviderResult<()> {
        let state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some(at) = state.retry_at.filter(|at| *at > now) {
            return Err(ProviderError::RateLimited((at - now).as_secs().max(1)));
        }
        if state.open_until.is_some_and(|until| until > now) {
            return Err(ProviderError::Unavailable("too many failures, waiting before trying again".into()));
        }
        Ok(())
    }

    fn record<T>(&self, result: &ProviderResult<T>) {
        let mut state = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Err(ProviderError::Unavailable(_)) => {
                state.failures += 1;
                if state.failures >= TRIP_AFTER {
                    tracing::warn!(failures = state.failures, "music service failing: breaker open");
                    state.open_until = Some(Instant::now() + OPEN_FOR);
                }
            }
            Err(ProviderError::RateLimited(seconds)) => {
                state.retry_at = Some(Instant::now() + Duration::from_secs((*seconds).clamp(1, MAX_RETRY_AFTER)));
            }
            // Any answer from the service, even a refusal, shows it is up.
            _ => {
                state.failures = 0;
                state.open_until = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn fail(guard: &Guard) -> ProviderResult<()> {
        guard.call(async { Err(ProviderError::Unavailable("503".into())) }).await
    }

    #[tokio::test(start_paused = true)]
    async fn five_failures_open_the_breaker_for_thirty_seconds() {
        let guard = Guard::default();
        for _ in 0..TRIP_AFTER {
            assert!(matches!(fail(&guard).await, Err(ProviderError::Unavailable(m)) if m == "503"));
        }
        let mut ran = false;
        let refused = guard
            .call(async {
                ran = true;
                Ok(())
            })
            .await;
        assert!(matches!(refused, Err(ProviderError::Unavailable(m)) if m.contains("too many failures")));
        assert!(!ran, "an open breaker does not call the service");
        tokio::time::advance(OPEN_FOR + Duration::from_millis(1)).await;
        assert_eq!(guard.call(async { Ok(7) }).await, Ok(7));
        assert!(fail(&guard).await.is_err());
        assert_eq!(guard.call(async { Ok(8) }).await, Ok(8), "one failure after a success does not trip it");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_holds_every_call_until_it_passes() {
        let guard = Guard::default();
        let limited: ProviderResult<()> = guard.call(async { Err(ProviderError::RateLimited(3)) }).await;
        assert_eq!(limited, Err(ProviderError::RateLimited(3)));
        assert_eq!(guard.call(async { Ok(1) }).await, Err(ProviderError::RateLimited(3)));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(guard.call(async { Ok(1) }).await, Err(ProviderError::RateLimited(1)));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(guard.call(async { Ok(1) }).await, Ok(1));
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_are_answers_and_do_not_trip_the_breaker() {
        let guard = Guard::default();
        for _ in 0..10 {
            let r: ProviderResult<()> = guard.call(async { Err(ProviderError::Revoked("no".into())) }).await;
            assert!(matches!(r, Err(ProviderError::Revoked(_))));
        }
        assert_eq!(guard.call(async { Ok(1) }).await, Ok(1));
    }
}
