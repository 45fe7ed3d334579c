//! The one way tollgate starts: state, background tasks and router, built
//! over an open database. The binary, the in-process tests, the real-HTTP
//! tests and the benchmarks all call [`Application::build`], so the tests run
//! what production runs, the last-used flusher and the auth listener included.

use crate::server::app::build_router;
use crate::server::audit;
use crate::server::auth_cache::listener;
use crate::server::config::Settings;
use crate::server::db::Db;
use crate::server::serve::{raise_open_files_limit, serve, ServeLimits};
use crate::server::state::AppState;
use crate::server::tokens::last_used::spawn_flusher;
use axum::Router;
use std::future::Future;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A built tollgate: what it serves, and the tasks it runs beside.
pub struct Application {
    pub state: AppState,
    pub router: Router,
    tasks: Vec<JoinHandle<()>>,
}

impl Application {
    /// Builds the state and router over `db` and starts the background tasks:
    /// the last-used flusher, the audit log's recorder of throttling episodes
    /// and its pruner and, on PostgreSQL, the listener that empties the
    /// verified-token cache when another instance changes something.
    pub fn build(db: Db, settings: Settings) -> Application {
        let state = AppState::new(db.clone(), settings);
        let mut tasks = vec![spawn_flusher(
            state.tokens.last_used.clone(),
            db.clone(),
            state.settings.last_used_flush,
        )];
        tasks.extend(listener::spawn(
            &state.auth_cache,
            &db,
            state.settings.notify_database_url.as_ref(),
        ));
        tasks.push(audit::spawn_episode_recorder(&state.throttle, db.clone()));
        tasks.push(audit::spawn_mover(db.clone()));
        if state.settings.audit_retention_days > 0 {
            tasks.push(audit::spawn_pruner(
                db.clone(),
                state.settings.audit_retention_days,
            ));
        }
        let router = build_router(state.clone());
        Application {
            state,
            router,
            tasks,
        }
    }

    /// Serves on `listener` until `shutdown` resolves, lets requests in flight
    /// finish, then stops the background tasks and writes the last-used times
    /// still held in memory.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let limits = ServeLimits::from(self.state.settings.as_ref());
        // Each connection holds a descriptor; keep a reserve for the database,
        // its WAL and the like.
        raise_open_files_limit(limits.max_connections as u64 + 256);
        let served = serve(listener, self.router.clone(), limits, shutdown).await;
        self.stop().await;
        served
    }

    /// Stops the background tasks and flushes the last-used times.
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        let tokens = &self.state.tokens;
        match tokens.last_used.flush(&self.state.db).await {
            Ok(n) => tracing::info!(tokens = n, "requests drained; last-used times flushed"),
            Err(e) => tracing::error!(error = %e, "could not flush last-used times at shutdown"),
        }
        tracing::info!(
            writes = tokens.last_used.writes(),
            flushes = tokens.last_used.flushes(),
            lookups = tokens.lookups(),
            "last-used totals since start"
        );
    }
}

impl Drop for Application {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
