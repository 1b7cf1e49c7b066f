//! Limits in front of a dependency: a token bucket per caller (429 with
//! `Retry-After`) and a cap on requests in flight (503). A new set of limits
//! (from the manifest or `PUT /_sandbox/limits/{dep}`) starts with fresh
//! buckets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::manifest::Limits;

/// A token bucket: `capacity` tokens, refilled at `rate` per second.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    pub fn full(capacity: f64, now: Instant) -> Self {
        Bucket {
            tokens: capacity,
            last: now,
        }
    }

    /// Takes a token, or says how many whole seconds (at least 1) until one
    /// is available.
    pub fn take(&mut self, now: Instant, rate: f64, capacity: f64) -> Result<(), u64> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) / rate;
            Err((wait.ceil() as u64).max(1))
        }
    }
}

/// Limits in force for one dependency, with their counters.
#[derive(Debug)]
pub struct LimitState {
    pub limits: Option<Limits>,
    rate: Option<(f64, f64)>,
    concurrency: Option<u32>,
    per_caller: bool,
    slots: Mutex<HashMap<&'static str, Slot>>,
}

#[derive(Debug)]
struct Slot {
    bucket: Option<Bucket>,
    in_flight: u32,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Over the rate; retry after this many seconds.
    Rate(u64),
    Concurrency,
}

/// A request in flight; dropping it frees the slot.
#[derive(Debug)]
pub struct Permit {
    state: Arc<LimitState>,
    key: &'static str,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut slots = self.state.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = slots.get_mut(self.key) {
            slot.in_flight = slot.in_flight.saturating_sub(1);
        }
    }
}

impl LimitState {
    pub fn new(limits: Option<Limits>) -> Self {
        let limits = limits.filter(|limits| !limits.is_empty());
        let (rate, concurrency, per_caller) = match &limits {
            Some(limits) => (
                limits.rate.map(|rate| {
                    (
                        rate.per_second(),
                        f64::from(limits.burst.unwrap_or(1).max(1)),
                    )
                }),
                limits.concurrency,
                limits.per_caller.unwrap_or(true),
            ),
            None => (None, None, true),
        };
        LimitState {
            limits,
            rate,
            concurrency,
            per_caller,
            slots: Mutex::new(HashMap::new()),
        }
    }

    pub fn is_active(&self) -> bool {
        self.rate.is_some() || self.concurrency.is_some()
    }

    /// Admits a request from `caller` or says why not. The permit (when
    /// concurrency is limited) must live until the answer is sent.
    pub fn admit(
        self: &Arc<Self>,
        caller: &'static str,
        now: Instant,
    ) -> Result<Option<Permit>, Refusal> {
        if !self.is_active() {
            return Ok(None);
        }
        let key = if self.per_caller { caller } else { "" };
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let slot = slots.entry(key).or_insert_with(|| Slot {
            bucket: self.rate.map(|(_, capacity)| Bucket::full(capacity, now)),
            in_flight: 0,
        });
        if let Some(cap) = self.concurrency
            && slot.in_flight >= cap
        {
            return Err(Refusal::Concurrency);
        }
        if let (Some((rate, capacity)), Some(bucket)) = (self.rate, slot.bucket.as_mut()) {
            bucket.take(now, rate, capacity).map_err(Refusal::Rate)?;
        }
        if self.concurrency.is_none() {
            return Ok(None);
        }
        slot.in_flight += 1;
        drop(slots);
        Ok(Some(Permit {
            state: self.clone(),
            key,
        }))
    }
}

/// Checks a new set of limits, as the control API receives them.
pub fn check(limits: &Limits) -> Result<(), String> {
    if limits.concurrency == Some(0) {
        return Err("concurrency must be at least 1".into());
    }
    if limits.burst == Some(0) {
        return Err("burst must be at least 1".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn buckets_refill_at_the_rate_and_say_when_to_retry() {
        let start = Instant::now();
        let mut bucket = Bucket::full(2.0, start);
        assert_eq!(bucket.take(start, 0.5, 2.0), Ok(()));
        assert_eq!(bucket.take(start, 0.5, 2.0), Ok(()));
        // Empty; one token every 2 s.
        assert_eq!(bucket.take(start, 0.5, 2.0), Err(2));
        assert_eq!(
            bucket.take(start + Duration::from_millis(500), 0.5, 2.0),
            Err(2)
        );
        assert_eq!(
            bucket.take(start + Duration::from_millis(1_500), 0.5, 2.0),
            Err(1)
        );
        assert_eq!(
            bucket.take(start + Duration::from_secs(2), 0.5, 2.0),
            Ok(())
        );
        // Never more than the capacity, however long idle.
        let later = start + Duration::from_secs(3_600);
        assert_eq!(bucket.take(later, 0.5, 2.0), Ok(()));
        assert_eq!(bucket.take(later, 0.5, 2.0), Ok(()));
        assert!(bucket.take(later, 0.5, 2.0).is_err());
        // A fast rate still asks for at least a second.
        let mut fast = Bucket::full(1.0, start);
        fast.take(start, 100.0, 1.0).unwrap();
        assert_eq!(fast.take(start, 100.0, 1.0), Err(1));
    }

    fn limits(yaml: &str) -> Arc<LimitState> {
        Arc::new(LimitState::new(Some(serde_yaml::from_str(yaml).unwrap())))
    }

    #[test]
    fn rates_count_per_caller_unless_told_otherwise() {
        let now = Instant::now();
        let (a, b) = ("a", "b");
        let state = limits("{rate: 1/s, burst: 2}");
        assert!(state.admit(a, now).is_ok());
        assert!(state.admit(a, now).is_ok());
        assert_eq!(state.admit(a, now).unwrap_err(), Refusal::Rate(1));
        assert!(state.admit(b, now).is_ok());
        let shared = limits("{rate: 1/s, per_caller: false}");
        assert!(shared.admit(a, now).is_ok());
        assert_eq!(shared.admit(b, now).unwrap_err(), Refusal::Rate(1));
    }

    #[test]
    fn concurrency_counts_requests_in_flight() {
        let now = Instant::now();
        let caller = "a";
        let state = limits("{concurrency: 2}");
        let first = state.admit(caller, now).unwrap();
        let _second = state.admit(caller, now).unwrap();
        assert_eq!(state.admit(caller, now).unwrap_err(), Refusal::Concurrency);
        drop(first);
        assert!(state.admit(caller, now).is_ok());
        assert!(!LimitState::new(Some(Limits::default())).is_active());
    }
}
