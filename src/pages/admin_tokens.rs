use leptos::prelude::*;
use leptos_meta::Title;

/// Admin, Security: Access Tokens Management.
#[component]
pub fn AdminTokensPage() -> impl IntoView {
    view! {
        <Title text="Access Tokens Management - tollgate" />
        <h1>"Access Tokens Management"</h1>
        <p class="placeholder">"Managing everyone's tokens is on its way."</p>
    }
}
