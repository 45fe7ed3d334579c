//! Change password (user menu): a signed-in user sets a new password with
//! the current one; their other sessions end.

use crate::api::change_password;
use crate::components::ErrorText;
use crate::model::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

pub const CHANGE_PASSWORD_PATH: &str = "/go/account/password";

#[component]
pub fn ChangePasswordPage() -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let mismatch = Memo::new(move |_| !confirm.get().is_empty() && confirm.get() != new.get());
    let change = Action::new(move |_: &()| async move {
        let result = change_password(current.get_untracked(), new.get_untracked()).await;
        if result.is_ok() {
            current.set(String::new());
            new.set(String::new());
            confirm.set(String::new());
        }
        result
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if mismatch.get_untracked() || change.pending().get_untracked() {
            return;
        }
        change.dispatch(());
    };
    let field = move |id: &'static str,
                      label: &'static str,
                      value: RwSignal<String>,
                      autocomplete: &'static str| {
        view! {
            <label for=id>{label}</label>
            <input id=id type="password" maxlength="1024" required=true autocomplete=autocomplete
                prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) />
        }
    };
    view! {
        <Title text="Change password - tollgate" />
        <div class="page-title"><h1>"Change password"</h1></div>
        <form class="card narrow" on:submit=submit data-testid="change-password">
            {move || match change.value().get() {
                Some(Ok(())) => Some(view! {
                    <p class="flash success" role="status">
                        "Your password was changed. Your other sessions were signed out."
                    </p>
                }.into_any()),
                Some(Err(e)) => Some(view! { <ErrorText error=e /> }.into_any()),
                None => None,
            }}
            {field("current-password", "Current password", current, "current-password")}
            {field("new-password", "New password", new, "new-password")}
            {field("confirm-password", "Confirm new password", confirm, "new-password")}
            {move || mismatch.get().then(|| view! {
                <ErrorText error=AppError::Invalid("The new passwords do not match.".into()) />
            })}
            <button type="submit" class="primary" disabled=move || change.pending().get() || mismatch.get()>
                "Change password"
            </button>
        </form>
    }
}
