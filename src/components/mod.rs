//! Pieces shared by pages.

use crate::api::current_user;
use crate::model::{UserView, LOGOUT_PATH};
use leptos::prelude::*;

/// The header: brand, the Admin menu for admins, and the user menu.
/// Menus open on hover or keyboard focus with CSS alone, so they work before
/// the WASM has loaded.
#[component]
pub fn Header() -> impl IntoView {
    let user = OnceResource::new(current_user());
    view! {
        <header class="site-header">
            <a class="brand" href="/go/access_tokens">"tollgate"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(u)) => view! { <Menus user=u /> }.into_any(),
                        _ => view! { <a href="/go/auth/login">"Sign in"</a> }.into_any(),
                    }
                })}
            </Suspense>
        </header>
    }
}

#[component]
fn Menus(user: UserView) -> impl IntoView {
    let admin = user.is_admin.then(|| {
        view! {
            <div class="menu" data-testid="admin-menu">
                <button type="button" class="menu-button">"Admin"</button>
                <div class="menu-items">
                    <span class="menu-heading">"Security"</span>
                    <a href="/go/admin/admin_access_tokens">"Access Tokens Management"</a>
                    <a href="/go/admin/users">"Users"</a>
                </div>
            </div>
        }
    });
    view! {
        <nav class="menus">
            {admin}
            <div class="menu" data-testid="user-menu">
                <button type="button" class="menu-button">{user.display_name.clone()}</button>
                <div class="menu-items">
                    <a href="/go/access_tokens">"Personal Access Tokens"</a>
                    <form method="post" action=LOGOUT_PATH>
                        <button type="submit" class="link-button">"Logout"</button>
                    </form>
                </div>
            </div>
        </nav>
    }
}
