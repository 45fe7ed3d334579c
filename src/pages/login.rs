use crate::model::{safe_redirect_target, LOGIN_SUBMIT_PATH};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The sign-in page. A plain form POST, so it works before (and without) WASM.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        query.with(|q| match q.get("error").as_deref() {
            Some("invalid") => Some("Invalid username or password."),
            Some("disabled") => Some("Your account has been disabled by the administrator"),
            Some("unavailable") => {
                Some("tollgate cannot reach its database right now. Please try again shortly.")
            }
            Some(_) => Some("Sign-in failed. Please try again."),
            None => None,
        })
    };
    let redirect =
        move || query.with(|q| safe_redirect_target(q.get("redirect").as_deref()).to_string());
    view! {
        <Title text="Sign in - tollgate" />
        <main class="login">
            <form class="login-card" method="post" action=LOGIN_SUBMIT_PATH>
                <h1>"tollgate"</h1>
                <p class="subtitle">"Sign in to manage your access tokens"</p>
                {move || error().map(|e| view! { <p class="flash error" role="alert">{e}</p> })}
                <label for="username">"Username"</label>
                <input id="username" name="username" type="text" autocomplete="username" maxlength="255" required autofocus />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" maxlength="1024" required />
                <input type="hidden" name="redirect" value=redirect />
                <button type="submit" class="primary">"Sign in"</button>
            </form>
        </main>
    }
}
