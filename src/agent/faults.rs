//! Faults injected in front of a dependency: latency with jitter, injected
//! errors, dropped connections and a bandwidth cap. Randomness comes from one
//! seeded generator per dependency, so a `seed` makes a run reproducible
//! (for the same order of requests).

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::manifest::Faults;

/// Faults in force for one dependency, with their random generator.
#[derive(Debug)]
pub struct FaultState {
    pub faults: Option<Faults>,
    rng: Mutex<StdRng>,
}

/// What the faults decided for one request or connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Draw {
    /// Drop the connection without an answer.
    pub reset: bool,
    /// Answer with this status instead.
    pub error: Option<u16>,
    /// Wait this long first.
    pub delay: Option<Duration>,
    /// Throttle the answer to this many bytes per second.
    pub bandwidth: Option<u64>,
}

impl Draw {
    /// The fault to journal, the most visible first.
    pub fn label(&self) -> Option<&'static str> {
        if self.reset {
            Some("reset")
        } else if self.error.is_some() {
            Some("error")
        } else if self.delay.is_some() {
            Some("latency")
        } else if self.bandwidth.is_some() {
            Some("bandwidth")
        } else {
            None
        }
    }
}

impl FaultState {
    pub fn new(faults: Option<Faults>) -> Self {
        let faults = faults.filter(|faults| !faults.is_empty());
        let seed = faults
            .as_ref()
            .and_then(|faults| faults.seed)
            .unwrap_or_else(|| {
                let nanos = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos() as u64;
                nanos ^ super::journal::fast_random()
            });
        FaultState {
            faults,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// Decides the faults of one request. Each random choice is drawn only
    /// when its setting is on, in a fixed order (reset, error, jitter).
    pub fn draw(&self) -> Draw {
        let Some(faults) = &self.faults else {
            return Draw::default();
        };
        let reset_rate = faults.reset_rate.unwrap_or(0.0);
        let error_rate = faults.error_rate.unwrap_or(0.0);
        let jitter = faults.jitter.map(|span| span.0).unwrap_or_default();
        let mut draw = Draw {
            bandwidth: faults.bandwidth.map(|rate| rate.0),
            ..Draw::default()
        };
        let mut extra = Duration::ZERO;
        if reset_rate > 0.0 || error_rate > 0.0 || !jitter.is_zero() {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            if reset_rate > 0.0 && rng.random::<f64>() < reset_rate {
                draw.reset = true;
                return draw;
            }
            if error_rate > 0.0 && rng.random::<f64>() < error_rate {
                draw.error = Some(faults.error_status.unwrap_or(503));
            }
            if !jitter.is_zero() {
                extra = jitter.mul_f64(rng.random::<f64>());
            }
        }
        let delay = faults.latency.map(|span| span.0).unwrap_or_default() + extra;
        if !delay.is_zero() {
            draw.delay = Some(delay);
        }
        draw
    }
}

/// Checks a new set of faults, as the control API receives them.
pub fn check(faults: &Faults) -> Result<(), String> {
    for (name, rate) in [
        ("error_rate", faults.error_rate),
        ("reset_rate", faults.reset_rate),
    ] {
        if let Some(rate) = rate
            && !(0.0..=1.0).contains(&rate)
        {
            return Err(format!("{name} must be between 0 and 1, not {rate}"));
        }
    }
    if let Some(status) = faults.error_status
        && !(400..=599).contains(&status)
    {
        return Err(format!(
            "error_status must be a 4xx or 5xx status, not {status}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(yaml: &str) -> Faults {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn a_seed_makes_the_draws_reproducible() {
        let settings = faults("{error_rate: 0.5, jitter: 10ms, latency: 5ms, seed: 7}");
        let first: Vec<Draw> = {
            let state = FaultState::new(Some(settings.clone()));
            (0..50).map(|_| state.draw()).collect()
        };
        let state = FaultState::new(Some(settings));
        let second: Vec<Draw> = (0..50).map(|_| state.draw()).collect();
        assert_eq!(first, second);
        let errors = first.iter().filter(|draw| draw.error == Some(503)).count();
        assert!((10..=40).contains(&errors), "{errors}");
        assert!(first.iter().all(|draw| {
            let delay = draw.delay.unwrap();
            delay >= Duration::from_millis(5) && delay <= Duration::from_millis(15)
        }));
    }

    #[test]
    fn certain_and_absent_faults() {
        let always = FaultState::new(Some(faults("{error_rate: 1, error_status: 500}")));
        assert_eq!(always.draw().error, Some(500));
        assert_eq!(always.draw().label(), Some("error"));
        let reset = FaultState::new(Some(faults("{reset_rate: 1}")));
        assert!(reset.draw().reset);
        assert_eq!(FaultState::new(None).draw(), Draw::default());
        assert_eq!(
            FaultState::new(Some(Faults::default())).draw().label(),
            None
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(
            check(&faults("{error_rate: 1.5}"))
                .unwrap_err()
                .contains("error_rate")
        );
        assert!(
            check(&faults("{error_status: 200}"))
                .unwrap_err()
                .contains("4xx")
        );
        assert!(check(&faults("{error_rate: 0.2, error_status: 429}")).is_ok());
    }
}
