//! Who is acting, and how they proved it: the user, the caller (user plus
//! authentication method) that every service takes, and the operator at the
//! command line. The rules that depend on *how* a caller authenticated live
//! here, once, so no handler can forget them.

use crate::server::error::ServiceError;
use crate::server::scope::Grants;

/// A live (not deleted) user. The password hash is never loaded into this type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub login_name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub email_me: bool,
    pub checkin_aliases: String,
    pub is_admin: bool,
    pub enabled: bool,
    pub created_at: i64,
}

impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for User {
    fn from_row(row: &'r sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        use sqlx::Row;
        Ok(User {
            id: row.try_get("id")?,
            login_name: row.try_get("login_name")?,
            display_name: row.try_get("display_name")?,
            email: row.try_get("email")?,
            email_me: row.try_get::<i64, _>("email_me")? != 0,
            checkin_aliases: row.try_get("checkin_aliases")?,
            is_admin: row.try_get::<i64, _>("is_admin")? != 0,
            enabled: row.try_get::<i64, _>("enabled")? != 0,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// Why an API caller was not let in; each maps to a 401 with GoCD's message.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("You are not authenticated!")]
    Anonymous,
    #[error("Invalid credentials. Either your username and password are incorrect, or there is a problem with your browser cookies. Please check with your administrator.")]
    BadCredentials,
    #[error("Invalid Personal Access Token.")]
    InvalidToken,
    /// Not a tollgate token at all (prefix, length, alphabet) or its
    /// checksum does not hold: refused before any database read.
    #[error("Invalid Personal Access Token.")]
    BadToken(crate::server::tokens::format::FormatError),
    #[error("Invalid Personal Access Token. Access token was revoked at: {0}")]
    RevokedToken(String),
    #[error("Invalid Personal Access Token. Access token expired at: {0}")]
    ExpiredToken(String),
    #[error("Invalid Personal Access Token. Access token is not allowed from {0}")]
    NotAllowedFrom(std::net::IpAddr),
    #[error("Your account has been disabled by the administrator")]
    Disabled,
    #[error("Unsupported authorization scheme.")]
    UnsupportedScheme,
    #[error("Too many failed authentication attempts. Try again in {} seconds.", crate::server::throttle::retry_after_secs(*.0))]
    Throttled(std::time::Duration),
    /// Too many passwords are being checked at once (503 with `Retry-After`).
    #[error("The server is busy checking other sign-ins. Try again in {BUSY_RETRY_SECS} seconds.")]
    Busy,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl AuthError {
    /// A presented token refused for what it is (unknown, revoked, expired,
    /// used from outside its networks, its owner disabled): each counts
    /// toward the client's throttle.
    pub fn is_token_refusal(&self) -> bool {
        matches!(
            self,
            AuthError::InvalidToken
                | AuthError::BadToken(_)
                | AuthError::RevokedToken(_)
                | AuthError::ExpiredToken(_)
                | AuthError::NotAllowedFrom(_)
                | AuthError::Disabled
        )
    }
}

/// `Retry-After` for [`AuthError::Busy`].
pub const BUSY_RETRY_SECS: u64 = 1;

/// How the caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// The web session cookie, after a sign-in with a password.
    Session,
    /// A password in `Authorization: Basic`.
    Basic,
    /// A personal access token in `Authorization: Bearer`.
    Bearer,
}

/// Where a request came from, as the audit log records it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    pub ip: Option<std::net::IpAddr>,
    /// As [`user_agent`] keeps it.
    pub user_agent: Option<String>,
}

/// Longest user agent kept (the audit log, a token's last use), in characters.
pub const USER_AGENT_MAX: usize = 256;

/// A user agent as kept: at most [`USER_AGENT_MAX`] characters, no controls.
pub fn user_agent(raw: &str) -> String {
    raw.chars()
        .filter(|c| !c.is_control())
        .take(USER_AGENT_MAX)
        .collect()
}

impl Origin {
    pub fn new(ip: std::net::IpAddr, user_agent: Option<&str>) -> Self {
        Origin {
            ip: Some(ip.to_canonical()),
            user_agent: user_agent.map(self::user_agent).filter(|ua| !ua.is_empty()),
        }
    }
}

/// An authenticated caller: who, and how.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user: User,
    pub method: AuthMethod,
    /// The request's client address and user agent.
    pub origin: Origin,
    /// What a Bearer token opens (`None` for a password or a session, which
    /// hold all of the user's power).
    pub grants: Option<Grants>,
    /// When the Bearer token expires, if it does.
    pub token_expires_at: Option<i64>,
}

/// GoCD's answer when a token is used where only a password or session may be.
pub const BEARER_FORBIDDEN: &str =
    "Unsupported operation: Accessing this API using access token is forbidden.";

/// GoCD's answer on `/go/api/admin/**` to a caller who is not an admin.
pub const ADMIN_ONLY: &str = "You are not authorized to access this resource!";

/// The answer when a token tries to create a credential or raise privileges.
pub const BEARER_CANNOT_ESCALATE: &str = "A personal access token cannot create credentials or raise privileges: setting a password, granting admin rights and enabling a user need a sign-in with a password.";

impl Caller {
    /// Token routes (GoCD's rule): a token can never mint, list or revoke tokens.
    pub fn refuse_bearer(&self) -> Result<(), ServiceError> {
        if self.method == AuthMethod::Bearer {
            Err(ServiceError::Forbidden(BEARER_FORBIDDEN.to_string()))
        } else {
            Ok(())
        }
    }

    /// Admin token routes (GoCD's rule): no token, and admins only.
    pub fn require_admin(&self) -> Result<(), ServiceError> {
        self.refuse_bearer()?;
        if self.user.is_admin {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(ADMIN_ONLY.to_string()))
        }
    }
}

/// Who is acting on a service: an authenticated caller, or the operator at
/// the command line (who has the database, so every power).
// Built once per request and passed by reference: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Actor {
    Caller(Caller),
    Operator,
}

impl From<Caller> for Actor {
    fn from(caller: Caller) -> Self {
        Actor::Caller(caller)
    }
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        match self {
            Actor::Caller(c) => c.user.is_admin,
            Actor::Operator => true,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Actor::Caller(c) => &c.user.login_name,
            Actor::Operator => "operator",
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        match self {
            Actor::Caller(c) => Some(c.user.id),
            Actor::Operator => None,
        }
    }

    pub fn require_admin(&self) -> Result<(), ServiceError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ServiceError::forbidden())
        }
    }

    /// A token never leads to more power than it has: any write that creates
    /// a credential (a password) or raises privileges (admin rights, enabling
    /// a user) needs a caller who proved a password, or the operator. Tokens
    /// themselves are refused on every token route by [`Caller::refuse_bearer`].
    pub fn require_password_proof(&self) -> Result<(), ServiceError> {
        match self {
            Actor::Caller(c) if c.method == AuthMethod::Bearer => {
                Err(ServiceError::Forbidden(BEARER_CANNOT_ESCALATE.to_string()))
            }
            _ => Ok(()),
        }
    }
}
