//! One module per page.

mod admin_tokens;
mod login;
mod scopes;
mod tokens;
mod users;

pub use admin_tokens::AdminTokensPage;
pub use login::LoginPage;
pub use scopes::ScopesPage;
pub use tokens::TokensPage;
pub use users::UsersPage;
