//! A value that every request reads and the control interface replaces at
//! run time (limits, faults, callers).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

/// A value read on every request and replaced at run time (limits, faults,
/// callers): readers take a short read lock and an `Arc` clone. A flag says
/// whether the value does anything, so that the common case (no limits, no
/// faults) costs one atomic load and no shared reference count.
#[derive(Debug)]
pub struct Live<T> {
    value: RwLock<Arc<T>>,
    active: AtomicBool,
}

impl<T> Live<T> {
    pub fn new(value: T) -> Self {
        Self::with_activity(value, true)
    }

    pub fn with_activity(value: T, active: bool) -> Self {
        Live {
            value: RwLock::new(Arc::new(value)),
            active: AtomicBool::new(active),
        }
    }

    pub fn load(&self) -> Arc<T> {
        self.value.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The value, when it does anything.
    pub fn load_active(&self) -> Option<Arc<T>> {
        self.active.load(Ordering::Acquire).then(|| self.load())
    }

    pub fn store(&self, value: T) {
        self.store_with_activity(value, true);
    }

    pub fn store_with_activity(&self, value: T, active: bool) {
        *self.value.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(value);
        self.active.store(active, Ordering::Release);
    }
}
