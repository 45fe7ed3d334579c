//! Drives the real router on a real SQLite database in a temporary directory.

pub use crate::client::*;
use axum::body::Body;
use axum::http::Request;
use axum::Router;
use tempfile::TempDir;
use tollgate::server::config::DbArgs;
pub use tollgate::server::config::Settings;
/// The loopback address, as a client address in tests.
pub const LOCALHOST: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
use tollgate::server::startup::Application;
use tollgate::server::users::service::{self, NewUser};
use tollgate::server::users::{Actor, User};
use tollgate::server::{db, AppState};

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub db_args: DbArgs,
    pub storage: std::sync::Arc<Storage>,
    /// The background tasks (flusher, listener) run while the app lives.
    _running: Application,
}

/// Log output of the whole test process.
#[derive(Clone, Default)]
pub struct Captured(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One global subscriber for all tests, capturing every log line (a
/// per-test subscriber misses lines when tests run on other threads).
pub fn test_logs() -> &'static Captured {
    static LOGS: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        captured
    })
}

/// Which database the suite runs on: `TOLLGATE_TEST_DB=postgres` for the
/// PostgreSQL leg (server from `TOLLGATE_TEST_PG_URL`), SQLite otherwise.
pub fn on_postgres() -> bool {
    std::env::var("TOLLGATE_TEST_DB").is_ok_and(|v| v == "postgres")
}

pub fn pg_base() -> String {
    std::env::var("TOLLGATE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// Where a test's data lives; removed when the test ends.
pub enum Storage {
    Sqlite(TempDir),
    /// A database of its own on the PostgreSQL server, dropped at the end.
    Postgres(String),
}

impl Drop for Storage {
    fn drop(&mut self) {
        if let Storage::Postgres(name) = self {
            let name = name.clone();
            // Drop runs outside async: use a thread with its own runtime.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    use sqlx::Connection;
                    if let Ok(mut c) =
                        sqlx::PgConnection::connect(&format!("{}/postgres", pg_base())).await
                    {
                        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                            .execute(&mut c)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A connection to the PostgreSQL server's `postgres` database, for tests
/// that change a test app's own database underneath it.
pub struct PgControl {
    /// The app's database.
    pub db: String,
    conn: sqlx::PgConnection,
}

impl PgControl {
    /// PostgreSQL leg only.
    pub async fn new(app: &TestApp) -> PgControl {
        use sqlx::Connection;
        let Storage::Postgres(db) = app.storage.as_ref() else {
            panic!("PgControl needs the PostgreSQL leg")
        };
        let conn = sqlx::PgConnection::connect(&format!("{}/postgres", pg_base()))
            .await
            .unwrap();
        PgControl {
            db: db.clone(),
            conn,
        }
    }

    pub async fn exec(&mut self, sql: String) {
        self.try_exec(sql).await.unwrap();
    }

    /// [`Self::exec`] for clean-ups that may fail.
    pub async fn try_exec(&mut self, sql: String) -> Result<(), sqlx::Error> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut self.conn)
            .await
            .map(|_| ())
    }

    /// Ends every connection to the app's database.
    pub async fn disconnect_all(&mut self) {
        let sql = format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{}' AND pid <> pg_backend_pid()",
            self.db
        );
        self.exec(sql).await;
    }
}

impl Storage {
    pub async fn new() -> (Storage, String) {
        if on_postgres() {
            use sqlx::Connection;
            let name = format!(
                "tollgate_t_{}_{}",
                std::process::id(),
                rand::random::<u32>()
            );
            let mut c = sqlx::PgConnection::connect(&format!("{}/postgres", pg_base()))
                .await
                .expect("PostgreSQL is not reachable: start it, or run the SQLite leg");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                .execute(&mut c)
                .await
                .unwrap();
            let url = format!("{}/{name}", pg_base());
            (Storage::Postgres(name), url)
        } else {
            let dir = TempDir::new().unwrap();
            let url = format!("sqlite://{}/t.db", dir.path().display());
            (Storage::Sqlite(dir), url)
        }
    }
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with_settings(Settings::default()).await
    }

    pub async fn with_settings(settings: Settings) -> TestApp {
        Self::build(settings, 5).await
    }

    /// An app on a database of its own; `acquire_timeout` in seconds.
    pub async fn build(settings: Settings, acquire_timeout: u64) -> TestApp {
        test_logs();
        let (storage, database_url) = Storage::new().await;
        let db_args = DbArgs {
            database_url,
            db_max_connections: 5,
            db_acquire_timeout: acquire_timeout,
        };
        let app = Self::open(db_args, settings, std::sync::Arc::new(storage)).await;
        service::bootstrap_admin(
            &app.state.db,
            "admin",
            Some(ADMIN_PASSWORD.to_string().into()),
        )
        .await
        .unwrap();
        app
    }

    pub async fn open(
        db_args: DbArgs,
        settings: Settings,
        storage: std::sync::Arc<Storage>,
    ) -> TestApp {
        let db = db::connect(&db_args).await.unwrap();
        let app = Application::build(db, settings);
        TestApp {
            router: app.router.clone(),
            state: app.state.clone(),
            db_args,
            storage,
            _running: app,
        }
    }

    /// Another instance of the app on the same database.
    pub async fn second_instance(&self) -> TestApp {
        self.second_instance_with(Settings::default()).await
    }

    pub async fn second_instance_with(&self, settings: Settings) -> TestApp {
        Self::open(self.db_args.clone(), settings, self.storage.clone()).await
    }

    pub async fn add_user(&self, login: &str, password: &str, admin: bool) -> User {
        let new = NewUser {
            login_name: login.into(),
            display_name: None,
            email: None,
            email_me: false,
            checkin_aliases: vec![],
            password: Some(password.to_string().into()),
            admin,
            enabled: true,
        };
        service::create(&self.state.db, &Actor::Operator, new)
            .await
            .unwrap()
    }

    /// Sends one request through the real router. A request that does not
    /// finish within 30 s fails the test with a clear message instead of
    /// hanging the suite: nothing here legitimately takes that long, so it is
    /// a stall (a future never woken), which is a bug to find, not to retry.
    pub async fn send(&self, req: Request<Body>) -> Res {
        let what = format!("{} {}", req.method(), req.uri());
        let limit = std::time::Duration::from_secs(30);
        tokio::time::timeout(limit, self.send_once(req))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{what} did not finish within {} s: a stalled request (a future never woken)",
                    limit.as_secs()
                )
            })
    }

    async fn send_once(&self, req: Request<Body>) -> Res {
        Transport::InProcess(self.router.clone())
            .exchange(req)
            .await
    }

    /// An owned client of this app's router, for spawned tasks; it has no
    /// time limit of its own.
    pub fn client(&self) -> Client {
        Client(Transport::InProcess(self.router.clone()))
    }

    /// Serves this app on an ephemeral loopback port, in the background;
    /// answers a client over real HTTP.
    pub async fn serve(&self) -> Client {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = self.router.clone();
        let limits = tollgate::server::serve::ServeLimits::from(&*self.state.settings);
        tokio::spawn(async move {
            tollgate::server::serve::serve(listener, router, limits, std::future::pending())
                .await
                .unwrap();
        });
        Client::http(addr)
    }

    /// Writes the last-used times held in memory now, instead of at the next
    /// background flush; answers how many tokens it wrote.
    pub async fn flush_last_used(&self) -> usize {
        self.state
            .tokens
            .last_used
            .flush(&self.state.db)
            .await
            .unwrap()
    }
}

impl Api for TestApp {
    fn exchange(&self, req: Request<Body>) -> impl std::future::Future<Output = Res> + Send {
        self.send(req)
    }
}

/// Starts the real `tollgate serve` binary on an ephemeral port with the test
/// admin's password; returns the child and the address it printed.
pub async fn spawn_server(
    url: &str,
    extra: &[&str],
) -> (tokio::process::Child, std::net::SocketAddr) {
    spawn_server_with(url, extra, &[], std::process::Stdio::null()).await
}

/// [`spawn_server`] with more environment variables, its standard error
/// (the logs) going to `stderr`.
pub async fn spawn_server_with(
    url: &str,
    extra: &[&str],
    env: &[(&str, &str)],
    stderr: std::process::Stdio,
) -> (tokio::process::Child, std::net::SocketAddr) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(["serve", "--addr", "127.0.0.1:0", "--database-url", url])
        .args(extra)
        .env("TOLLGATE_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("the server did not start")
            .unwrap()
            .expect("the server exited");
        if let Some(a) = line.strip_prefix("tollgate is serving on http://") {
            break a.parse().unwrap();
        }
    };
    (child, addr)
}
