//! The shell, the routes, and the layout every signed-in page shares.

use crate::components::{provide_current_user, Header};
use crate::pages::{
    AdminTokensPage, AuditLogPage, ChangePasswordPage, LoginPage, ScopesPage, TokensPage, UsersPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
#[cfg(not(feature = "csr"))]
use leptos_router::lazy_route;
use leptos_router::{path, Lazy, LazyRoute};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="stylesheet" href="/pkg/tollgate.css" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Pages get a Content-Security-Policy naming this response's nonce, which
/// Leptos puts on its inline hydration scripts.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    use axum::http::{header, HeaderValue};
    let nonce = leptos::nonce::use_nonce();
    let response = use_context::<leptos_axum::ResponseOptions>();
    if let (Some(nonce), Some(response)) = (nonce, response) {
        let csp = content_security_policy(&nonce.to_string());
        if let Ok(value) = HeaderValue::from_str(&csp) {
            response.insert_header(header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Marks the page interactive once the WASM has hydrated it (browser tests wait for it).
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title text="tollgate" />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/go/auth/login") view=LoginPage />
                <Route path=path!("/go/access_tokens") view=|| view! { <Layout><TokensPage /></Layout> } />
                <Route path=path!("/go/account/password") view=|| view! { <Layout><ChangePasswordPage /></Layout> } />
                <Route path=path!("/go/admin/admin_access_tokens") view={Lazy::<AdminTokensRoute>::new()} />
                <Route path=path!("/go/admin/users") view={Lazy::<UsersRoute>::new()} />
                <Route path=path!("/go/admin/scopes") view={Lazy::<ScopesRoute>::new()} />
                <Route path=path!("/go/admin/audit_log") view={Lazy::<AuditLogRoute>::new()} />
            </Routes>
        </Router>
    }
}

// The admin pages are lazy routes: with `cargo leptos build --split`, their
// code is in WASM chunks of their own, fetched when one is first shown, so the
// main WASM every page waits for stays small. The client-only (`csr`) build
// for Trunk, which does not split, gets the same routes unsplit.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        struct $route;

        #[cfg(not(feature = "csr"))]
        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                view! { <Layout><$page /></Layout> }.into_any()
            }
        }

        #[cfg(feature = "csr")]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            async fn view(_this: Self) -> AnyView {
                view! { <Layout><$page /></Layout> }.into_any()
            }
        }
    };
}

lazy_page!(AdminTokensRoute, AdminTokensPage);
lazy_page!(UsersRoute, UsersPage);
lazy_page!(ScopesRoute, ScopesPage);
lazy_page!(AuditLogRoute, AuditLogPage);

/// The signed-in frame: header with menus, then the page.
#[component]
fn Layout(children: Children) -> impl IntoView {
    provide_current_user();
    view! {
        <Header />
        <main class="page">{children()}</main>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <main class="page">
            <h1>"Page not found"</h1>
            <p>
                <a href=crate::model::HOME_PATH>"Back to your access tokens"</a>
            </p>
        </main>
    }
}

/// The Content-Security-Policy for pages: scripts only from us or inline with
/// this response's nonce, WASM allowed to compile, no framing, no plugins.
#[cfg(feature = "ssr")]
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}
