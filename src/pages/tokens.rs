use leptos::prelude::*;
use leptos_meta::Title;

/// Personal Access Tokens (the user menu).
#[component]
pub fn TokensPage() -> impl IntoView {
    view! {
        <Title text="Personal Access Tokens - tollgate" />
        <h1>"Personal Access Tokens"</h1>
        <p class="placeholder">"Token management is on its way."</p>
    }
}
