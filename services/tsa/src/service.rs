//! The timestamp authority service: the clock, the serial numbers, the
//! metrics, around the pure [`TimestampAuthority`].

use crate::TsaApiError;
use sigstead_crypto::Signer;
use sigstead_tsp::{IssueError, TimestampAuthority, TimestampRequest};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// The service behind the handlers. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Tsa {
    authority: Arc<TimestampAuthority>,
    signer: Arc<dyn Signer>,
}

impl Tsa {
    pub fn new(authority: TimestampAuthority, signer: Arc<dyn Signer>) -> Self {
        Self { authority: Arc::new(authority), signer }
    }

    pub fn authority(&self) -> &TimestampAuthority {
        &self.authority
    }

    /// Answers a request with a DER `TimeStampResp` holding a fresh token:
    /// `genTime` from the system clock, a random 159-bit positive serial
    /// (unique without coordination between replicas).
    pub fn timestamp(&self, req: &TimestampRequest) -> Result<Vec<u8>, TsaApiError> {
        let serial = sigstead_ca::new_serial();
        let started = Instant::now();
        match self.authority.issue(req, &serial, SystemTime::now()) {
            Ok(resp) => {
                metrics::histogram!("tsa_signing_seconds").record(started.elapsed().as_secs_f64());
                metrics::counter!("tsa_timestamps_issued_total", "hash" => req.hash.name()).increment(1);
                Ok(resp)
            }
            Err(IssueError::Declined(r)) => Err(self.declined(r)),
            Err(IssueError::Failed(e)) => Err(TsaApiError::Internal(e.to_string())),
        }
    }

    /// Counts a declined request; the rejection goes back to the client.
    pub fn declined(&self, r: sigstead_tsp::Rejection) -> TsaApiError {
        metrics::counter!("tsa_rejections_total", "reason" => r.failure.name()).increment(1);
        tracing::debug!(reason = %r, "timestamp request declined");
        TsaApiError::Declined(r)
    }

    /// A request that is not a time-stamp query at all (counted as `malformed`).
    pub fn malformed(&self, why: String) -> TsaApiError {
        metrics::counter!("tsa_rejections_total", "reason" => "malformed").increment(1);
        TsaApiError::BadRequest(why)
    }

    /// Readiness: the signer answers (an HSM session that died fails here).
    pub fn probe(&self) -> Result<(), String> {
        self.signer.sign(b"sigstead tsa readiness probe").map(|_| ()).map_err(|e| e.to_string())
    }
}
