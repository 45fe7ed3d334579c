//! Admin, Security: Access Tokens Management. Everyone's tokens, searched on
//! the server as the admin types, a page at a time.

use super::urlencode;
use crate::api::{admin_list_tokens, token_policy};
use crate::components::{
    focus_input, slash_focuses, tab_keys, ErrorText, Expiry, Flash, FlashKind, FlashMessage,
    Highlight, LastUsed, LoadMore, LocalTime, Paging, RevokeDialog, ScopeChips, TokenDetails,
};
use crate::model::{AdminTokenPage, TokenFilter, TokenView, COUNT_CAP};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use std::time::Duration;

/// Milliseconds to wait after the last keystroke before searching.
const DEBOUNCE_MS: u64 = 250;

fn count_label(n: i64) -> String {
    if n >= COUNT_CAP {
        format!("{COUNT_CAP}+")
    } else {
        n.to_string()
    }
}

#[component]
pub fn AdminTokensPage() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    // The URL holds the search and the tab, so a reload or a shared link shows
    // the same result.
    let q = Memo::new(move |_| query.with(|m| m.get("q").unwrap_or_default()));
    let filter = Memo::new(move |_| {
        query.with(|m| match m.get("tab").as_deref() {
            Some("revoked") => TokenFilter::Revoked,
            Some("expired") => TokenFilter::Expired,
            _ => TokenFilter::Active,
        })
    });
    let set_url = Callback::new(move |(q, filter): (String, TokenFilter)| {
        let mut params = url_params(&q, filter);
        if !params.is_empty() {
            params.insert(0, '?');
        }
        navigate(
            &format!("/go/admin/admin_access_tokens{params}"),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    });

    // Each answer carries the (tab, query) it was for; one that no longer
    // matches the URL is never shown, so a slow, stale answer cannot overwrite
    // a newer one.
    let key = move || (filter.get(), q.get());
    let policy = Resource::new(|| (), |_| token_policy());
    let first_page = Resource::new(key, |(f, q)| async move {
        let result = admin_list_tokens(f, q.clone(), None).await;
        ((f, q), result)
    });
    let paging = Paging::<TokenView>::new();
    let flash: FlashMessage = RwSignal::new(None);
    let revoking = RwSignal::new(None::<TokenView>);
    let typed = RwSignal::new(q.get_untracked());

    let debounce = StoredValue::new(None::<TimeoutHandle>);
    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        typed.set(value.clone());
        if let Some(h) = debounce.get_value() {
            h.clear();
        }
        let handle = set_timeout_with_handle(
            move || set_url.run((value, filter.get_untracked())),
            Duration::from_millis(DEBOUNCE_MS),
        )
        .ok();
        debounce.set_value(handle);
    };
    let choose_tab = move |f: TokenFilter| set_url.run((typed.get_untracked(), f));
    let search = NodeRef::<leptos::html::Input>::new();
    slash_focuses(search);
    let clear_search = Callback::new(move |()| {
        if let Some(h) = debounce.get_value() {
            h.clear();
        }
        typed.set(String::new());
        set_url.run((String::new(), filter.get_untracked()));
        focus_input(search);
    });

    let load_more = move |()| {
        let at = key();
        let (f, q) = at.clone();
        paging.load(
            move |cursor| async move {
                admin_list_tokens(f, q, Some(cursor))
                    .await
                    .map(|p| (p.tokens, p.next))
            },
            move || key() == at,
        );
    };

    view! {
        <Title text="Access Tokens Management - tollgate" />
        <div class="page-title">
            <h1>"Access Tokens Management"</h1>
            <div class="search-box">
                <input type="search" class="search" placeholder="Search description, user or scope" aria-label="Search tokens"
                    aria-keyshortcuts="/" maxlength="256" node_ref=search
                    prop:value=move || typed.get() on:input=on_input />
                <kbd class="shortcut" aria-hidden="true" title="Press / to search">"/"</kbd>
            </div>
        </div>
        <Flash message=flash />
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let text = match policy.await.ok().and_then(|p| p.max_days) {
                    Some(days) => format!("Token policy: tokens expire after at most {days} days."),
                    None => "Token policy: no maximum lifetime; tokens may never expire.".to_string(),
                };
                view! { <p class="muted" data-testid="lifetime-policy">{text}</p> }
            })}
        </Transition>
        <Transition fallback=|| view! { <p class="muted">"Loading tokens…"</p> }>
            {move || Suspend::new(async move {
                let (at, result) = first_page.await;
                let current = key();
                if at != current {
                    return view! { <p class="muted">"Searching…"</p> }.into_any();
                }
                match result {
                    Ok(AdminTokenPage { tokens, next: n, counts }) => {
                        paging.restart(n);
                        let counts = counts.unwrap_or_default();
                        let f = current.0;
                        let query = current.1.clone();
                        let tab = move |which: TokenFilter, label: &'static str, n: i64, testid: &'static str| view! {
                            <button type="button" role="tab" aria-selected=(f == which).to_string()
                                on:click=move |_| choose_tab(which)>
                                {label} " " <span class="count" data-testid=testid>{count_label(n)}</span>
                            </button>
                        };
                        view! {
                            <div class="tabs" role="tablist" on:keydown=tab_keys>
                                {tab(TokenFilter::Active, "Active Tokens", counts.active, "active-count")}
                                {tab(TokenFilter::Expired, "Expired Tokens", counts.expired, "expired-count")}
                                {tab(TokenFilter::Revoked, "Revoked Tokens", counts.revoked, "revoked-count")}
                            </div>
                            <AdminTable filter=f first=tokens more=paging.more revoking query clear_search />
                            // Inside the Suspend, after `restart`: the server and
                            // the browser render it from the same state (after the
                            // Transition, it could hydrate before `restart` ran).
                            <LoadMore paging on_load=load_more />
                        }.into_any()
                    }
                    Err(e) => view! {
                        <ErrorText error=e />
                        <button type="button" class="secondary" on:click=move |_| first_page.refetch()>"Retry"</button>
                    }.into_any(),
                }
            })}
        </Transition>
        {move || revoking.get().map(|token| view! {
            <RevokeDialog
                token
                admin=true
                on_close=move || revoking.set(None)
                on_revoked=move || {
                    revoking.set(None);
                    flash.set(Some((FlashKind::Success, "Access token was successfully revoked.".into())));
                    first_page.refetch();
                }
            />
        })}
    }
}

fn url_params(q: &str, filter: TokenFilter) -> String {
    let mut s = String::new();
    if !q.is_empty() {
        s.push_str("q=");
        s.push_str(&urlencode(q));
    }
    let tab = match filter {
        TokenFilter::Revoked => "revoked",
        TokenFilter::Expired => "expired",
        _ => return s,
    };
    if !s.is_empty() {
        s.push('&');
    }
    s.push_str("tab=");
    s.push_str(tab);
    s
}

#[component]
fn AdminTable(
    filter: TokenFilter,
    first: Vec<TokenView>,
    more: RwSignal<Vec<TokenView>>,
    revoking: RwSignal<Option<TokenView>>,
    /// The search these tokens were found by: marked in them.
    query: String,
    clear_search: Callback<()>,
) -> impl IntoView {
    let revoked_tab = filter == TokenFilter::Revoked;
    let searching = !query.trim().is_empty();
    if first.is_empty() {
        let state = match filter {
            TokenFilter::Revoked => "revoked",
            TokenFilter::Expired => "expired",
            _ => "active",
        };
        if searching {
            return view! {
                <div class="empty">
                    <p>{format!("There are no {state} tokens matching your search query.")}</p>
                    <button type="button" class="secondary" on:click=move |_| clear_search.run(())>"Clear search"</button>
                </div>
            }
            .into_any();
        }
        return view! { <p class="empty">{format!("There are no {state} tokens.")}</p> }.into_any();
    }
    let query: std::sync::Arc<str> = query.into();
    let row = move |t: TokenView| {
        let for_dialog = t.clone();
        let deleted = t.revoked_because_user_deleted;
        let details = t.clone();
        view! {
            <tr data-token-id=t.id>
                <td data-label="Created By">
                    <div class="who">
                        <span><Highlight text=t.username query=query.to_string() /></span>
                        {deleted.then(|| view! { <span class="badge">"user deleted"</span> })}
                    </div>
                </td>
                <td data-label="Description" class="description">
                    <span><Highlight text=t.description query=query.to_string() /></span>
                    <ScopeChips scopes=t.scopes /><TokenDetails token=details />
                </td>
                <td data-label="Created At"><LocalTime iso=t.created_at /></td>
                <td data-label="Last Used"><LastUsed at=t.last_used_at /></td>
                {if revoked_tab {
                    view! {
                        <td data-label="Revoked By">{t.revoked_by}</td>
                        <td data-label="Revoked At">{t.revoked_at.map(|at| view! { <LocalTime iso=at /> })}</td>
                        <td data-label="Revoked Message" class="description">{t.revoke_cause}</td>
                    }.into_any()
                } else {
                    view! {
                        <td data-label="Expires"><Expiry at=t.expires_at /></td>
                        <td data-label="" class="actions">
                            <button type="button" class="danger-outline"
                                on:click=move |_| revoking.set(Some(for_dialog.clone()))>"Revoke"</button>
                        </td>
                    }.into_any()
                }}
            </tr>
        }
    };
    let head = if revoked_tab {
        view! {
            <tr>
                <th>"Created By"</th><th>"Description"</th><th>"Created At"</th><th>"Last Used"</th>
                <th>"Revoked By"</th><th>"Revoked At"</th><th>"Revoked Message"</th>
            </tr>
        }
        .into_any()
    } else {
        view! {
            <tr>
                <th>"Created By"</th><th>"Description"</th><th>"Created At"</th><th>"Last Used"</th><th>"Expires"</th>
                <th><span class="visually-hidden">"Actions"</span></th>
            </tr>
        }.into_any()
    };
    let first_rows = first.into_iter().map(row.clone()).collect_view();
    view! {
        <table class="tokens" data-testid=match filter {
            TokenFilter::Revoked => "revoked-tokens",
            TokenFilter::Expired => "expired-tokens",
            _ => "active-tokens",
        }>
            <thead>{head}</thead>
            <tbody>
                {first_rows}
                <For each=move || more.get() key=|t| t.id children=row />
            </tbody>
        </table>
    }
    .into_any()
}
