use leptos::prelude::*;
use leptos_meta::Title;

/// Admin: Users.
#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Title text="Users - tollgate" />
        <h1>"Users"</h1>
        <p class="placeholder">"Until this page lands, manage users with the users API or `tollgate user`."</p>
    }
}
