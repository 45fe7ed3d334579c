//! Admin: Users. Search as you type; add, enable, disable, delete users and
//! reset their passwords; see their active tokens.

use crate::api::{add_user, delete_user, list_users, reset_user_password, set_user_enabled};
use crate::components::{ErrorText, Flash, FlashKind, FlashMessage, Modal};
use crate::model::UserRow;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    let flash: FlashMessage = RwSignal::new(None);
    let adding = RwSignal::new(false);
    let deleting = RwSignal::new(None::<UserRow>);
    let resetting = RwSignal::new(None::<String>);
    let search = RwSignal::new(String::new());
    let toggle = Action::new(move |(login, enabled): &(String, bool)| {
        let (login, enabled) = (login.clone(), *enabled);
        async move {
            match set_user_enabled(login.clone(), enabled).await {
                Ok(u) => {
                    let state = if u.enabled { "enabled" } else { "disabled" };
                    flash.set(Some((
                        FlashKind::Success,
                        format!("User '{}' is now {state}.", u.login_name),
                    )));
                    users.refetch();
                }
                Err(e) => flash.set(Some((FlashKind::Error, e.to_string()))),
            }
        }
    });

    view! {
        <Title text="Users - tollgate" />
        <div class="page-title">
            <h1>"Users"</h1>
            <input type="search" class="search" placeholder="Search login, name or email"
                aria-label="Search users" maxlength="256"
                prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev)) />
            <button type="button" class="primary" on:click=move |_| adding.set(true)>"Add User"</button>
        </div>
        <Flash message=flash />
        <Transition fallback=|| view! { <p class="muted">"Loading users…"</p> }>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(list) => {
                        let list_for_empty = list.clone();
                        view! {
                        <p class="empty" hidden=move || {
                            let q = search.get();
                            list_matches(&list_for_empty, &q)
                        }>"No users match your search."</p>
                        <table class="tokens" data-testid="users">
                            <thead>
                                <tr>
                                    <th>"Login Name"</th><th>"Display Name"</th><th>"Email"</th>
                                    <th>"Admin"</th><th>"Status"</th><th>"Active Tokens"</th><th><span class="visually-hidden">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|u| {
                                    let login = u.login_name.clone();
                                    let enabled = u.enabled;
                                    let for_delete = u.clone();
                                    let for_reset = u.login_name.clone();
                                    let row_id = u.login_name.clone();
                                    let haystack = search_text(&u);
                                    view! {
                                        <tr data-user=row_id
                                            hidden=move || !haystack.contains(&search.get().trim().to_lowercase())>
                                            <td data-label="Login Name">{u.login_name}</td>
                                            <td data-label="Display Name">{u.display_name}</td>
                                            <td data-label="Email">{u.email}</td>
                                            <td data-label="Admin">{if u.is_admin { "Yes" } else { "No" }}</td>
                                            <td data-label="Status">{if enabled { "Enabled" } else { "Disabled" }}</td>
                                            <td data-label="Active Tokens">{u.active_tokens}</td>
                                            <td class="actions">
                                                <button type="button" class="secondary"
                                                    on:click=move |_| resetting.set(Some(for_reset.clone()))>"Reset password"</button>
                                                " "
                                                <button type="button" class="secondary"
                                                    disabled=move || toggle.pending().get()
                                                    on:click=move |_| { toggle.dispatch((login.clone(), !enabled)); }>
                                                    {if enabled { "Disable" } else { "Enable" }}
                                                </button>
                                                {(!enabled).then(|| view! {
                                                    " "
                                                    <button type="button" class="danger-outline"
                                                        on:click=move |_| deleting.set(Some(for_delete.clone()))>"Delete"</button>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <p class="muted">"Only a disabled user can be deleted. Deleting a user revokes all of their tokens for good."</p>
                        }.into_any()
                    }
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                }
            })}
        </Transition>
        <Show when=move || adding.get()>
            <AddUserDialog
                on_close=move || adding.set(false)
                on_added=move |name: String| {
                    adding.set(false);
                    flash.set(Some((FlashKind::Success, format!("User '{name}' was added."))));
                    users.refetch();
                }
            />
        </Show>
        {move || resetting.get().map(|login| view! {
            <ResetPasswordDialog
                login
                on_close=move || resetting.set(None)
                on_reset=move |name: String| {
                    resetting.set(None);
                    flash.set(Some((FlashKind::Success, format!(
                        "The password of '{name}' was reset; their sessions were ended."
                    ))));
                }
            />
        })}
        {move || deleting.get().map(|user| view! {
            <DeleteUserDialog
                user
                on_close=move || deleting.set(None)
                on_deleted=move |(name, revoked): (String, u64)| {
                    deleting.set(None);
                    flash.set(Some((FlashKind::Success, format!(
                        "User '{name}' was deleted and {revoked} active token(s) were revoked."
                    ))));
                    users.refetch();
                }
            />
        })}
    }
}

/// What the search looks in: login, display name and email, lower-cased.
fn search_text(u: &UserRow) -> String {
    format!(
        "{}\n{}\n{}",
        u.login_name,
        u.display_name,
        u.email.as_deref().unwrap_or_default()
    )
    .to_lowercase()
}

/// Whether any user matches the search (an empty one matches all).
fn list_matches(list: &[UserRow], q: &str) -> bool {
    let q = q.trim().to_lowercase();
    list.iter().any(|u| search_text(u).contains(&q))
}

#[component]
fn ResetPasswordDialog(
    login: String,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_reset: Callback<String>,
) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let name = login.clone();
    let reset = Action::new(move |_: &()| {
        let name = name.clone();
        async move {
            let result = reset_user_password(name.clone(), password.get_untracked()).await;
            if result.is_ok() {
                on_reset.run(name);
            }
            result
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !reset.pending().get_untracked() {
            reset.dispatch(());
        }
    };
    view! {
        <Modal title="Reset Password" on_close=on_close>
            <form on:submit=submit>
                <div class="modal-body">
                    {move || reset.value().get().and_then(Result::err).map(|e| view! { <ErrorText error=e /> })}
                    <p>"Set a new password for '" {login.clone()} "'. Their sessions end; their tokens keep working."</p>
                    <label for="reset-password">"New password"</label>
                    <input id="reset-password" type="password" maxlength="1024" autocomplete="new-password"
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev)) />
                </div>
                <div class="modal-footer">
                    <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button type="submit" class="primary" disabled=move || reset.pending().get()>"Reset password"</button>
                </div>
            </form>
        </Modal>
    }
}

#[component]
fn AddUserDialog(
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_added: Callback<String>,
) -> impl IntoView {
    let login = RwSignal::new(String::new());
    let display = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let admin = RwSignal::new(false);
    let add = Action::new(move |_: &()| async move {
        let result = add_user(
            login.get_untracked(),
            display.get_untracked(),
            email.get_untracked(),
            password.get_untracked(),
            admin.get_untracked(),
        )
        .await;
        if let Ok(u) = &result {
            on_added.run(u.login_name.clone());
        }
        result
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !add.pending().get_untracked() {
            add.dispatch(());
        }
    };
    let field = |id: &'static str,
                 label: &'static str,
                 kind: &'static str,
                 value: RwSignal<String>,
                 max: &'static str| {
        view! {
            <label for=id>{label}</label>
            <input id=id type=kind maxlength=max prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
        }
    };
    view! {
        <Modal title="Add User" on_close=on_close>
            <form on:submit=submit>
                <div class="modal-body">
                    {move || add.value().get().and_then(Result::err).map(|e| view! { <ErrorText error=e /> })}
                    {field("new-login", "Login name", "text", login, "64")}
                    {field("new-display", "Display name", "text", display, "255")}
                    {field("new-email", "Email", "email", email, "255")}
                    {field("new-password", "Password", "password", password, "1024")}
                    <label class="checkbox">
                        <input type="checkbox" prop:checked=move || admin.get()
                            on:change=move |ev| admin.set(event_target_checked(&ev)) />
                        " Administrator"
                    </label>
                </div>
                <div class="modal-footer">
                    <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button type="submit" class="primary" disabled=move || add.pending().get()>"Add"</button>
                </div>
            </form>
        </Modal>
    }
}

#[component]
fn DeleteUserDialog(
    user: UserRow,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_deleted: Callback<(String, u64)>,
) -> impl IntoView {
    let name = user.login_name.clone();
    let delete = Action::new(move |_: &()| {
        let name = name.clone();
        async move {
            let result = delete_user(name.clone()).await;
            if let Ok(n) = &result {
                on_deleted.run((name, *n));
            }
            result
        }
    });
    let n = user.active_tokens;
    view! {
        <Modal title="Delete User" on_close=on_close>
            <div class="modal-body">
                {move || delete.value().get().and_then(Result::err).map(|e| view! { <ErrorText error=e /> })}
                <p>
                    "Delete user '" {user.login_name.clone()} "'? "
                    {format!("This revokes their {n} active token{} for good. ", if n == 1 { "" } else { "s" })}
                    "It cannot be undone, and a new user of the same name will not get them back."
                </p>
            </div>
            <div class="modal-footer">
                <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Cancel"</button>
                <button type="button" class="danger" disabled=move || delete.pending().get()
                    on:click=move |_| { delete.dispatch(()); }>"Delete user"</button>
            </div>
        </Modal>
    }
}
