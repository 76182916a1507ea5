//! PostgreSQL connections for the pool, checked without a round trip per
//! use.
//!
//! r2d2's usual test on checkout sends `SELECT 1` before every query: a
//! second round trip for every request. Here a connection is tested only
//! when it sat idle in the pool long enough for the server (or something
//! between) to have dropped it; one in steady use is trusted. A connection
//! that does die in use fails that one query ("unavailable", a retry
//! succeeds) and is never handed out again: every query's outcome is
//! watched, and a connection whose query found it closed, or found its
//! server read-only, is discarded when it comes back.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::r2d2::{ConnectionManager, ManageConnection};
use diesel::{Connection, PgConnection};

use crate::error::connection_unusable;

/// A pooled PostgreSQL connection, with what the pool knows of its health.
pub(crate) struct PgPooled {
    conn: PgConnection,
    /// Set when one of its queries found the connection closed.
    lost: Arc<AtomicBool>,
    /// When it last came back to the pool.
    returned_at: Instant,
}

impl Deref for PgPooled {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.conn
    }
}

impl DerefMut for PgPooled {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.conn
    }
}

/// Opens PostgreSQL connections and judges them for the pool.
#[derive(Debug)]
pub(crate) struct PgManager {
    inner: ConnectionManager<PgConnection>,
    /// Idle at least this long, a connection is tested before use.
    idle_before_check: Duration,
}

impl PgManager {
    pub(crate) fn new(url: &str, idle_before_check: Duration) -> Self {
        Self {
            inner: ConnectionManager::new(url),
            idle_before_check,
        }
    }
}

impl ManageConnection for PgManager {
    type Connection = PgPooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<PgPooled, Self::Error> {
        let mut conn = self.inner.connect()?;
        let lost = Arc::new(AtomicBool::new(false));
        conn.set_instrumentation(LostConnectionWatch(Arc::clone(&lost)));
        Ok(PgPooled {
            conn,
            lost,
            returned_at: Instant::now(),
        })
    }

    fn is_valid(&self, pooled: &mut PgPooled) -> Result<(), Self::Error> {
        if pooled.lost.load(Ordering::Relaxed) {
            return Err(diesel::r2d2::Error::ConnectionError(
                diesel::ConnectionError::BadConnection("the connection was lost".into()),
            ));
        }
        if pooled.returned_at.elapsed() < self.idle_before_check {
            return Ok(());
        }
        self.inner.is_valid(&mut pooled.conn)
    }

    fn has_broken(&self, pooled: &mut PgPooled) -> bool {
        pooled.returned_at = Instant::now();
        pooled.lost.load(Ordering::Relaxed) || self.inner.has_broken(&mut pooled.conn)
    }
}

/// Notes a query that found its connection closed, or its server no longer
/// taking writes (a primary demoted in a failover): a new connection, through
/// the balancer or a multi-host URL, reaches the new primary.
struct LostConnectionWatch(Arc<AtomicBool>);

impl Instrumentation for LostConnectionWatch {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::FinishQuery {
            error: Some(error), ..
        } = event
        {
            if connection_unusable(error) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
    }
}
