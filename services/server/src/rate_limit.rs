//! Per-client rate limiting (`[http.rate_limit]`): one GCRA token bucket per
//! client IP address, from the `governor` crate (keyed limiter, std-only
//! store). A request over the limit is answered `429 Too Many Requests` with
//! `Retry-After` (whole seconds, at least 1) and the JSON error body every
//! Sigstead API uses; it never reaches the handler.
//!
//! The client is the TCP peer that [`crate::serve_with`] records in each
//! request. Buckets of clients not seen for a while are dropped every 4096
//! requests, so memory stays bounded by the clients active recently.

use crate::RateLimitConfig;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
pub use governor::Quota;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A token bucket per key (a client address, an identity…).
pub struct Keyed<K: Hash + Eq + Clone> {
    limiter: governor::RateLimiter<K, governor::state::keyed::DefaultKeyedStateStore<K>, DefaultClock>,
    seen: AtomicU64,
}

/// The per-client-address limiter of `[http.rate_limit]`.
pub type PerClient = Keyed<IpAddr>;

impl<K: Hash + Eq + Clone> std::fmt::Debug for Keyed<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyed").field("keys", &self.limiter.len()).finish()
    }
}

impl PerClient {
    /// `None` when the configuration turns limiting off.
    pub fn new(config: &RateLimitConfig) -> Option<Self> {
        let rate = NonZeroU32::new(config.per_second)?;
        let burst = config.burst.and_then(NonZeroU32::new).unwrap_or(rate);
        Some(Keyed::with_quota(Quota::per_second(rate).allow_burst(burst)))
    }
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    pub fn with_quota(quota: Quota) -> Self {
        Self { limiter: governor::RateLimiter::keyed(quota), seen: AtomicU64::new(0) }
    }

    /// `Ok` if `key` may go ahead now, else how many whole seconds (at
    /// least 1) until it may.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        if self.seen.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.as_secs() == 0))
        })
    }
}

/// The middleware: requests without a recorded peer (in-process tests) pass.
pub async fn limit(State(limiter): State<Arc<PerClient>>, req: Request, next: Next) -> Response {
    let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() else {
        return next.run(req).await;
    };
    match limiter.check(&peer.ip()) {
        Ok(()) => next.run(req).await,
        Err(retry_after) => {
            metrics::counter!("http_rate_limited_total").increment(1);
            let status = StatusCode::TOO_MANY_REQUESTS;
            let body = serde_json::json!({"code": status.as_u16(), "message": "rate limit exceeded; retry later"});
            let mut resp = (status, axum::Json(body)).into_response();
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_burst_is_refused_and_others_are_not() {
        let limiter = PerClient::new(&RateLimitConfig { per_second: 1, burst: Some(3) }).unwrap();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(&a), Ok(()));
        }
        let wait = limiter.check(&a).unwrap_err();
        assert!((1..=2).contains(&wait), "Retry-After is about one second at 1/s: {wait}");
        assert_eq!(limiter.check(&b), Ok(()), "another client has its own bucket");
    }

    #[test]
    fn zero_rate_means_off() {
        assert!(PerClient::new(&RateLimitConfig { per_second: 0, burst: None }).is_none());
    }
}
