//! What every repository port reports when the storage itself fails.

/// A failure of the storage itself (connection lost, pool exhausted,
/// corrupt row). Its text and causes are for logs, never for clients.
#[derive(Debug, thiserror::Error)]
pub enum RepositoryError {
    /// No connection came free in time, or none could be opened: the store
    /// is busy or down, and the same request may succeed a little later.
    #[error("storage unavailable: {message}")]
    Unavailable {
        message: String,
        #[source]
        source: Option<BoxedError>,
    },
    #[error("storage failure: {message}")]
    Failed {
        message: String,
        #[source]
        source: Option<BoxedError>,
    },
}

/// The cause an adapter reports under a [`RepositoryError`].
pub type BoxedError = Box<dyn std::error::Error + Send + Sync>;

impl RepositoryError {
    /// A failure with no underlying error to keep.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::Failed {
            message: message.into(),
            source: None,
        }
    }

    /// A failure, keeping the error that caused it.
    pub fn caused_by(message: impl Into<String>, source: impl Into<BoxedError>) -> Self {
        Self::Failed {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// The store did not answer in time, keeping why.
    pub fn unavailable(message: impl Into<String>, source: impl Into<BoxedError>) -> Self {
        Self::Unavailable {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}
