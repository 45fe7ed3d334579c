//! Personal Access Tokens (user menu): generate, list in two tabs, revoke.

use crate::api::{create_token, list_scopes, list_tokens};
use crate::components::{
    CopyButton, CurrentUser, ErrorText, Flash, FlashKind, FlashMessage, LastUsed, LocalTime, Modal,
    RevokeDialog, ScopeChips,
};
use crate::model::{AppError, ScopeView, TokenFilter, TokenView, TOKEN_TEXT_MAX};
use leptos::prelude::*;
use leptos_meta::Title;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Active,
    Revoked,
}

#[component]
pub fn TokensPage() -> impl IntoView {
    let flash: FlashMessage = RwSignal::new(None);
    let tokens = Resource::new(|| (), |_| list_tokens(TokenFilter::All));
    let tab = RwSignal::new(Tab::Active);
    let creating = RwSignal::new(false);
    let revoking = RwSignal::new(None::<TokenView>);
    let me = expect_context::<CurrentUser>();

    view! {
        <Title text="Personal Access Tokens - tollgate" />
        <div class="page-title">
            <h1>"Personal Access Tokens"</h1>
            <button type="button" class="primary" on:click=move |_| creating.set(true)>
                "Generate Token"
            </button>
        </div>
        <Flash message=flash />
        <Transition fallback=|| view! { <p class="muted">"Loading tokens…"</p> }>
            {move || Suspend::new(async move {
                let viewer = match me.await {
                    Ok(Some(u)) => u.login_name,
                    _ => String::new(),
                };
                match tokens.await {
                    Ok(list) => view! { <TokenTabs list viewer tab revoking /> }.into_any(),
                    Err(e) => view! {
                        <ErrorText error=e />
                        <button type="button" class="secondary" on:click=move |_| tokens.refetch()>"Retry"</button>
                    }.into_any(),
                }
            })}
        </Transition>
        <Show when=move || creating.get()>
            <CreateDialog
                on_close=move || creating.set(false)
                on_created=move || {
                    flash.set(Some((FlashKind::Success, "Access token was successfully created.".into())));
                    tab.set(Tab::Active);
                    tokens.refetch();
                }
            />
        </Show>
        {move || revoking.get().map(|token| view! {
            <RevokeDialog
                token
                admin=false
                on_close=move || revoking.set(None)
                on_revoked=move || {
                    revoking.set(None);
                    flash.set(Some((FlashKind::Success, "Access token was successfully revoked.".into())));
                    tokens.refetch();
                }
            />
        })}
    }
}

#[component]
fn TokenTabs(
    list: Vec<TokenView>,
    viewer: String,
    tab: RwSignal<Tab>,
    revoking: RwSignal<Option<TokenView>>,
) -> impl IntoView {
    let (mut active, mut revoked): (Vec<_>, Vec<_>) = list.into_iter().partition(|t| !t.revoked);
    // Newest first; ISO-8601 UTC strings sort as times. Ties fall back to id.
    active.sort_by(|a, b| (&b.created_at, b.id).cmp(&(&a.created_at, a.id)));
    revoked.sort_by(|a, b| (&b.revoked_at, b.id).cmp(&(&a.revoked_at, a.id)));
    let (n_active, n_revoked) = (active.len(), revoked.len());
    view! {
        <div class="tabs" role="tablist">
            <button type="button" role="tab" aria-selected=move || (tab.get() == Tab::Active).to_string()
                on:click=move |_| tab.set(Tab::Active)>
                "Active Tokens" <span class="count">{n_active}</span>
            </button>
            <button type="button" role="tab" aria-selected=move || (tab.get() == Tab::Revoked).to_string()
                on:click=move |_| tab.set(Tab::Revoked)>
                "Revoked Tokens" <span class="count">{n_revoked}</span>
            </button>
        </div>
        <div role="tabpanel" class="tab-panel" hidden=move || tab.get() != Tab::Active>
            {if active.is_empty() {
                view! {
                    <p class="empty">
                        "You don't have any active tokens. Click on 'Generate Token' button to create a new token."
                    </p>
                }.into_any()
            } else {
                view! { <ActiveTable tokens=active revoking /> }.into_any()
            }}
        </div>
        <div role="tabpanel" class="tab-panel" hidden=move || tab.get() != Tab::Revoked>
            {if revoked.is_empty() {
                view! { <p class="empty">"You don't have any revoked tokens."</p> }.into_any()
            } else {
                view! { <RevokedTable tokens=revoked viewer /> }.into_any()
            }}
        </div>
    }
}

#[component]
fn ActiveTable(tokens: Vec<TokenView>, revoking: RwSignal<Option<TokenView>>) -> impl IntoView {
    view! {
        <table class="tokens" data-testid="active-tokens">
            <thead>
                <tr><th>"Description"</th><th>"Created At"</th><th>"Last Used"</th><th></th></tr>
            </thead>
            <tbody>
                {tokens.into_iter().map(|t| {
                    let for_dialog = t.clone();
                    view! {
                        <tr data-token-id=t.id>
                            <td class="description">{t.description}<ScopeChips scopes=t.scopes /></td>
                            <td><LocalTime iso=t.created_at /></td>
                            <td><LastUsed at=t.last_used_at /></td>
                            <td class="actions">
                                <button type="button" class="danger-outline"
                                    on:click=move |_| revoking.set(Some(for_dialog.clone()))>
                                    "Revoke"
                                </button>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn RevokedTable(tokens: Vec<TokenView>, viewer: String) -> impl IntoView {
    view! {
        <table class="tokens" data-testid="revoked-tokens">
            <thead>
                <tr>
                    <th>"Description"</th><th>"Created At"</th><th>"Last Used"</th>
                    <th>"Revoked By"</th><th>"Revoked At"</th><th>"Revoked Message"</th>
                </tr>
            </thead>
            <tbody>
                {tokens.into_iter().map(|t| {
                    let by = match t.revoked_by {
                        Some(b) if b.eq_ignore_ascii_case(&viewer) => "You".to_string(),
                        Some(b) => b,
                        None => String::new(),
                    };
                    view! {
                        <tr data-token-id=t.id>
                            <td class="description">{t.description}<ScopeChips scopes=t.scopes /></td>
                            <td><LocalTime iso=t.created_at /></td>
                            <td><LastUsed at=t.last_used_at /></td>
                            <td>{by}</td>
                            <td>{t.revoked_at.map(|at| view! { <LocalTime iso=at /> })}</td>
                            <td class="description">{t.revoke_cause}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// "Create Access Token": a description, then the token, shown once.
#[component]
fn CreateDialog(
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_created: Callback<()>,
) -> impl IntoView {
    let description = RwSignal::new(String::new());
    // The grants chosen: `api` unless the user picks otherwise.
    let grants = RwSignal::new(vec!["api".to_string()]);
    let services = Resource::new(|| (), |_| list_scopes());
    let create = Action::new(move |(d, g): &(String, Vec<String>)| {
        let (d, g) = (d.clone(), g.clone());
        async move {
            let result = create_token(d, Some(g)).await;
            if result.is_ok() {
                on_created.run(());
            }
            result
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !create.pending().get_untracked() {
            create.dispatch((description.get_untracked(), grants.get_untracked()));
        }
    };
    view! {
        <Modal title="Create Access Token" on_close=on_close>
            {move || match create.value().get() {
                Some(Ok(created)) => view! {
                    <div class="modal-body">
                        <p class="warning" role="status">
                            <strong>"Make sure you copy the token now. It will not be shown again."</strong>
                        </p>
                        <label for="new-token">"Your new token"</label>
                        <div class="token-box">
                            <input id="new-token" type="text" readonly value=created.secret.clone()
                                data-testid="new-token" on:focus=move |ev| select_target(&ev) />
                            <CopyButton text=created.secret.clone() />
                        </div>
                        <p class="muted">"For: " {created.token.description.clone()}</p>
                    </div>
                    <div class="modal-footer">
                        <button type="button" class="primary" on:click=move |_| on_close.run(())>"Close"</button>
                    </div>
                }.into_any(),
                other => {
                    let error = other.and_then(Result::err);
                    view! {
                        <form on:submit=submit>
                            <div class="modal-body">
                                {error.map(|e| view! { <ErrorText error=e /> })}
                                <label for="token-description">"Description"</label>
                                <textarea id="token-description" rows="3" maxlength=TOKEN_TEXT_MAX
                                    placeholder="What's this token for?" required
                                    prop:value=move || description.get()
                                    on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                                <ScopePicker grants services />
                            </div>
                            <div class="modal-footer">
                                <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Cancel"</button>
                                <button type="submit" class="primary" disabled=move || create.pending().get()>
                                    {move || if create.pending().get() { "Generating…" } else { "Generate" }}
                                </button>
                            </div>
                        </form>
                    }.into_any()
                }
            }}
        </Modal>
    }
}

/// The scopes of a new token: the built-in ones as checkboxes, each service
/// scope as none, read-only (`NAME:read`) or full (`NAME`).
#[component]
fn ScopePicker(
    grants: RwSignal<Vec<String>>,
    services: Resource<Result<Vec<ScopeView>, AppError>>,
) -> impl IntoView {
    let set = move |remove: Vec<String>, add: Option<String>| {
        grants.update(|g| {
            g.retain(|x| !remove.contains(x));
            if let Some(a) = add {
                g.push(a);
            }
        })
    };
    let builtin = [
        ("api", "API: tollgate's own API"),
        ("read_api", "Read API: GET and HEAD only"),
        ("introspect", "Introspect: may check other tokens"),
    ];
    view! {
        <fieldset class="scopes" data-testid="scope-picker">
            <legend>"Scopes"</legend>
            {builtin.into_iter().map(|(name, label)| view! {
                <label class="check">
                    <input type="checkbox" name="scope" value=name
                        prop:checked=move || grants.with(|g| g.iter().any(|x| x == name))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            set(vec![name.to_string()], on.then(|| name.to_string()));
                        } />
                    " " {label}
                </label>
            }).collect_view()}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    services.await.unwrap_or_default().into_iter().map(|s| {
                        let name = s.name.clone();
                        let read = format!("{name}:read");
                        let id = format!("scope-{name}");
                        let both = vec![name.clone(), read.clone()];
                        view! {
                            <label class="service" for=id.clone()>
                                <span class="chip">{s.name.clone()}</span> " " {s.description}
                            </label>
                            <select id=id data-scope=s.name on:change=move |ev| {
                                let v = event_target_value(&ev);
                                set(both.clone(), (!v.is_empty()).then_some(v));
                            }>
                                <option value="">"No access"</option>
                                <option value=read.clone()>"Read only"</option>
                                <option value=name.clone()>"Full access"</option>
                            </select>
                        }
                    }).collect_view()
                })}
            </Transition>
        </fieldset>
    }
}

fn select_target(ev: &leptos::ev::FocusEvent) {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    {
        use wasm_bindgen::JsCast;
        if let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            input.select();
        }
    }
    #[cfg(not(any(feature = "hydrate", feature = "csr")))]
    let _ = ev;
}
