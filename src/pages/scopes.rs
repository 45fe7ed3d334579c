//! Admin: Scopes. Define the service scopes tokens can be granted, and delete
//! them (which takes them from every token, revoking those left with none).

use crate::api::{admin_add_scope, admin_delete_scope, list_scopes};
use crate::components::{ErrorText, Flash, FlashKind, FlashMessage};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ScopesPage() -> impl IntoView {
    let scopes = Resource::new(|| (), |_| list_scopes());
    let flash: FlashMessage = RwSignal::new(None);
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let add = Action::new(move |(n, d): &(String, String)| {
        let (n, d) = (n.clone(), d.clone());
        async move {
            match admin_add_scope(n, d).await {
                Ok(s) => {
                    flash.set(Some((
                        FlashKind::Success,
                        format!("Scope '{}' was added.", s.name),
                    )));
                    name.set(String::new());
                    description.set(String::new());
                    scopes.refetch();
                }
                Err(e) => flash.set(Some((FlashKind::Error, e.to_string()))),
            }
        }
    });
    let delete = Action::new(move |n: &String| {
        let n = n.clone();
        async move {
            match admin_delete_scope(n.clone()).await {
                Ok((tokens, revoked)) => {
                    flash.set(Some((
                        FlashKind::Success,
                        format!("Scope '{n}' was deleted: removed from {tokens} token(s), {revoked} revoked."),
                    )));
                    scopes.refetch();
                }
                Err(e) => flash.set(Some((FlashKind::Error, e.to_string()))),
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !add.pending().get_untracked() {
            add.dispatch((name.get_untracked(), description.get_untracked()));
        }
    };
    view! {
        <Title text="Scopes - tollgate" />
        <div class="page-title"><h1>"Scopes"</h1></div>
        <p class="muted">
            "A token granted a scope opens that service through your reverse proxy "
            "(/go/auth/verify?scope=NAME). NAME:read allows only GET, HEAD and OPTIONS. "
            "Built in: api, read_api, introspect."
        </p>
        <Flash message=flash />
        <form class="inline-form" on:submit=submit data-testid="add-scope">
            <label for="scope-name">"Name"</label>
            <input id="scope-name" type="text" required maxlength="63" placeholder="grafana"
                pattern="[a-z0-9][a-z0-9_.\\-]{0,62}"
                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
            <label for="scope-description">"Description"</label>
            <input id="scope-description" type="text" required maxlength="1024" placeholder="What it opens"
                prop:value=move || description.get()
                on:input=move |ev| description.set(event_target_value(&ev)) />
            <button type="submit" class="primary" disabled=move || add.pending().get()>"Add Scope"</button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading scopes…"</p> }>
            {move || Suspend::new(async move {
                match scopes.await {
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty">"No service scopes yet."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <table class="tokens" data-testid="scopes">
                            <thead><tr><th>"Name"</th><th>"Description"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|s| {
                                    let n = s.name.clone();
                                    let row = s.name.clone();
                                    view! {
                                        <tr data-scope=row>
                                            <td data-label="Name"><span class="chip">{s.name}</span></td>
                                            <td data-label="Description" class="description">{s.description}</td>
                                            <td data-label="" class="actions">
                                                <button type="button" class="danger-outline"
                                                    on:click=move |_| { delete.dispatch(n.clone()); }>
                                                    "Delete"
                                                </button>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                }
            })}
        </Transition>
    }
}
