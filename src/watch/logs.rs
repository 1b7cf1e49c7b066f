//! The logs of `up --watch`: every running container of the sandbox,
//! prefixed with its entry's name as `sandbox logs -f` prints them, and the
//! new container when one is replaced or restarted. An entry's health
//! probe's own requests (the registry sends one every 2 s) are left out of
//! its access log, as `up` leaves them out of a failed entry's last lines.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::engine::{Engine, labels};
use crate::{output, runner};

/// How often the set of containers is looked at when nothing says it changed
/// (another `up` in another terminal may replace one).
const LOOK_EVERY: Duration = Duration::from_secs(2);
/// Lines shown of each container already running when watching starts.
const FIRST_TAIL_SECONDS: i64 = 2;

/// Follows the sandbox's containers until dropped.
pub struct Follower {
    look: Arc<Notify>,
    task: JoinHandle<()>,
}

/// Each entry's HTTP health check path: its access-log lines are left out.
pub type Probes = Arc<Mutex<HashMap<String, String>>>;

impl Follower {
    pub fn start(engine: Engine, sandbox: String, probes: Probes) -> Follower {
        let look = Arc::new(Notify::new());
        let task = tokio::spawn(follow(engine, sandbox, look.clone(), probes));
        Follower { look, task }
    }

    /// Looks at the containers now (after a replace or restart).
    pub fn refresh(&self) {
        self.look.notify_one();
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One container followed.
struct Followed {
    /// The last line's timestamp (normalized, see [`stamp_key`]), so that a
    /// container followed again after a restart does not repeat lines.
    last: Arc<Mutex<String>>,
    task: JoinHandle<()>,
}

impl Drop for Followed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn follow(engine: Engine, sandbox: String, look: Arc<Notify>, probes: Probes) {
    let mut followed: HashMap<String, Followed> = HashMap::new();
    let started = unix_now();
    let mut first = true;
    loop {
        if let Ok(containers) = engine
            .containers_with_label(&labels::of_sandbox(&sandbox))
            .await
        {
            let running: Vec<_> = containers
                .into_iter()
                .filter(|c| c.is_running() && c.label(labels::ROLE) != Some("lock"))
                .collect();
            followed.retain(|id, _| running.iter().any(|c| &c.id == id));
            let width = running
                .iter()
                .map(|c| c.display_name().len())
                .max()
                .unwrap_or(0);
            for container in &running {
                if followed
                    .get(&container.id)
                    .is_some_and(|f| !f.task.is_finished())
                {
                    continue;
                }
                let last = followed
                    .remove(&container.id)
                    .map(|f| f.last.clone())
                    .unwrap_or_default();
                // What ran before watching began was shown by `up`, or is
                // old: only the last moments of it.
                let since = if first {
                    started - FIRST_TAIL_SECONDS
                } else {
                    last_seconds(&last.lock().unwrap_or_else(|e| e.into_inner()))
                };
                let prefix = format!("{:<width$} | ", container.display_name());
                let probe = container
                    .entry()
                    .map(|entry| (entry.to_owned(), probes.clone()));
                let task = tokio::spawn(print_lines(
                    engine.clone(),
                    container.id.clone(),
                    since,
                    prefix,
                    last.clone(),
                    probe,
                ));
                followed.insert(container.id.clone(), Followed { last, task });
            }
            first = false;
        }
        tokio::select! {
            _ = look.notified() => {}
            _ = tokio::time::sleep(LOOK_EVERY) => {}
        }
    }
}

async fn print_lines(
    engine: Engine,
    id: String,
    since: i64,
    prefix: String,
    last: Arc<Mutex<String>>,
    probe: Option<(String, Probes)>,
) {
    let mut lines = Box::pin(engine.logs_stamped(&id, since));
    while let Some(Ok((stamp, line))) = lines.next().await {
        if let Some((entry, probes)) = &probe {
            let path = probes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(entry)
                .cloned();
            if let Some(path) = path
                && runner::without_probe_lines(&line.text, Some(("GET", &path)), 1).1 > 0
            {
                continue;
            }
        }
        let key = stamp_key(&stamp);
        {
            let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
            if !last.is_empty() && key <= *last {
                continue;
            }
            *last = key;
        }
        if output::print(&format!("{prefix}{}\n", line.text)).is_err() {
            return;
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The engine's timestamp (`2024-05-01T10:00:00.5Z`, trailing zeros of
/// the fraction left out) as a string that sorts by time: the fraction
/// padded to nine digits.
fn stamp_key(stamp: &str) -> String {
    let stamp = stamp.trim_end_matches('Z');
    let (seconds, fraction) = stamp.split_once('.').unwrap_or((stamp, ""));
    let fraction: String = fraction.chars().take_while(char::is_ascii_digit).collect();
    format!("{seconds}.{fraction:0<9}")
}

/// The UNIX second of a [`stamp_key`], for asking the engine for the lines
/// from there on; 0 (everything) when there is none.
fn last_seconds(key: &str) -> i64 {
    let Some(date) = key.split('.').next().filter(|d| d.len() >= 19) else {
        return 0;
    };
    let number =
        |range: std::ops::Range<usize>| date.get(range).and_then(|s| s.parse::<i64>().ok());
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        number(0..4),
        number(5..7),
        number(8..10),
        number(11..13),
        number(14..16),
        number(17..19),
    ) else {
        return 0;
    };
    days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second
}

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar
/// (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_sort_by_time_and_give_their_second() {
        let a = stamp_key("2024-05-01T10:00:00.5Z");
        let b = stamp_key("2024-05-01T10:00:00.123456789Z");
        let c = stamp_key("2024-05-01T10:00:01Z");
        assert!(b < a && a < c, "{a} {b} {c}");
        assert_eq!(a, "2024-05-01T10:00:00.500000000");
        assert_eq!(last_seconds(&c), 1_714_557_601);
        assert_eq!(last_seconds(&stamp_key("1970-01-01T00:00:00Z")), 0);
        assert_eq!(last_seconds(""), 0);
    }
}
