//! Admin, Audit Log: every event, searched on the server as the admin types,
//! filtered by family and time range, newest first, a page at a time. The
//! search and the filters live in the URL; a token id shows that token's
//! whole story.

use super::urlencode;
use crate::api::admin_audit_events;
use crate::components::{focus_input, slash_focuses, AuditEvents, ErrorText, LoadMore, Paging};
use crate::model::{AppError, AuditEventView, AuditPage};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::NavigateOptions;
use std::time::Duration;

/// Milliseconds to wait after the last keystroke before searching.
const DEBOUNCE_MS: u64 = 250;

pub const AUDIT_LOG_PATH: &str = "/go/admin/audit_log";

/// What the page shows, as the URL says it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Shown {
    q: String,
    action: String,
    since: String,
    until: String,
    token: Option<i64>,
}

impl Shown {
    fn url(&self) -> String {
        let mut q = Vec::new();
        let mut push = |k: &str, v: &str| {
            if !v.is_empty() {
                q.push(format!("{k}={}", urlencode(v)));
            }
        };
        push("q", &self.q);
        push("action", &self.action);
        push("since", &self.since);
        push("until", &self.until);
        if let Some(id) = self.token {
            q.push(format!("token={id}"));
        }
        if q.is_empty() {
            AUDIT_LOG_PATH.to_string()
        } else {
            format!("{AUDIT_LOG_PATH}?{}", q.join("&"))
        }
    }
}

async fn fetch(s: Shown, after: Option<String>) -> Result<AuditPage, AppError> {
    admin_audit_events(s.q, s.action, s.since, s.until, s.token, after).await
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let shown = Memo::new(move |_| {
        query.with(|m| Shown {
            q: m.get("q").unwrap_or_default(),
            action: m.get("action").unwrap_or_default(),
            since: m.get("since").unwrap_or_default(),
            until: m.get("until").unwrap_or_default(),
            token: m.get("token").and_then(|t| t.parse().ok()),
        })
    });
    let go = Callback::new(move |s: Shown| {
        navigate(
            &s.url(),
            NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        );
    });
    let change = move |f: &dyn Fn(&mut Shown)| {
        let mut s = shown.get_untracked();
        f(&mut s);
        go.run(s);
    };

    // Each answer carries what it was for; a stale one is never shown.
    let first_page = Resource::new(
        move || shown.get(),
        |s| async move {
            let result = fetch(s.clone(), None).await;
            (s, result)
        },
    );
    let paging = Paging::<AuditEventView>::new();
    let typed = RwSignal::new(shown.get_untracked().q);

    let debounce = StoredValue::new(None::<TimeoutHandle>);
    let on_input = move |ev: leptos::ev::Event| {
        let value = event_target_value(&ev);
        typed.set(value.clone());
        if let Some(h) = debounce.get_value() {
            h.clear();
        }
        let handle = set_timeout_with_handle(
            move || change(&|s: &mut Shown| s.q = value.clone()),
            Duration::from_millis(DEBOUNCE_MS),
        )
        .ok();
        debounce.set_value(handle);
    };
    let search = NodeRef::<leptos::html::Input>::new();
    slash_focuses(search);
    let clear_search = move |_| {
        if let Some(h) = debounce.get_value() {
            h.clear();
        }
        typed.set(String::new());
        change(&|s: &mut Shown| s.q = String::new());
        focus_input(search);
    };
    let open_token = Callback::new(move |id: i64| {
        typed.set(String::new());
        go.run(Shown {
            token: Some(id),
            ..Shown::default()
        });
    });

    let load_more = move |()| {
        let at = shown.get_untracked();
        let fetched = at.clone();
        paging.load(
            move |cursor| async move {
                fetch(fetched, Some(cursor))
                    .await
                    .map(|p| (p.events, p.next))
            },
            move || shown.get_untracked() == at,
        );
    };

    let family = move |value: &'static str, label: &'static str| {
        view! {
            <option value=value selected=move || shown.get().action == value>{label}</option>
        }
    };

    let date_input = move |label: &'static str,
                           testid: &'static str,
                           get: fn(&Shown) -> String,
                           set: fn(&mut Shown, String)| {
        view! {
            <label>{label}
                <input type="date" aria-label=format!("{label} date") data-testid=testid
                    prop:value=move || get(&shown.get())
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        change(&|s: &mut Shown| set(s, v.clone()));
                    } />
            </label>
        }
    };

    view! {
        <Title text="Audit Log - tollgate" />
        <div class="page-title">
            <h1>"Audit Log"</h1>
            <div class="search-box">
                <input type="search" class="search" placeholder="Search actor, user, token id, action, address or details"
                    aria-label="Search the audit log" aria-keyshortcuts="/" maxlength="256" node_ref=search
                    prop:value=move || typed.get() on:input=on_input />
                <kbd class="shortcut" aria-hidden="true" title="Press / to search">"/"</kbd>
            </div>
        </div>
        <div class="filters">
            <label>"Action "
                <select aria-label="Action" data-testid="audit-family"
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        change(&|s: &mut Shown| s.action = v.clone());
                    }>
                    {family("", "All actions")}
                    {family("token", "Tokens")}
                    {family("auth", "Sign-ins")}
                    {family("user", "Users")}
                    {family("scope", "Scopes")}
                </select>
            </label>
            {date_input("From", "audit-since", |s| s.since.clone(), |s, v| s.since = v)}
            {date_input("To", "audit-until", |s| s.until.clone(), |s, v| s.until = v)}
        </div>
        {move || shown.get().token.map(|id| view! {
            <div class="story" data-testid="token-story-banner">
                <strong>{format!("The story of token #{id}")}</strong>" "
                <button type="button" class="secondary small"
                    on:click=move |_| change(&|s: &mut Shown| s.token = None)>"Show all events"</button>
            </div>
        })}
        <Transition fallback=|| view! { <p class="muted">"Loading events…"</p> }>
            {move || Suspend::new(async move {
                let (at, result) = first_page.await;
                if at != shown.get() {
                    return view! { <p class="muted">"Searching…"</p> }.into_any();
                }
                match result {
                    Ok(AuditPage { events, next: n }) => {
                        paging.restart(n.clone());
                        if events.is_empty() {
                            let text = if n.is_some() {
                                "No matching events among the newest ones looked at; Load more looks further back."
                            } else if at == Shown::default() {
                                "No events yet."
                            } else {
                                "No events match."
                            };
                            let searched = !at.q.trim().is_empty();
                            return view! {
                                <div class="empty">
                                    <p>{text}</p>
                                    {searched.then(|| view! {
                                        <button type="button" class="secondary" on:click=clear_search>"Clear search"</button>
                                    })}
                                </div>
                                <LoadMore paging on_load=load_more />
                            }
                            .into_any();
                        }
                        // Load more inside the Suspend, after `restart`: the server
                        // and the browser render it from the same state (placed
                        // after the Transition, it could hydrate before `restart`
                        // ran, and hydration failed when there was a next page).
                        view! {
                            <AuditEvents first=events more=paging.more on_token=open_token query=at.q />
                            <LoadMore paging on_load=load_more />
                        }
                        .into_any()
                    }
                    Err(e) => view! {
                        <ErrorText error=e />
                        <button type="button" class="secondary" on:click=move |_| first_page.refetch()>"Retry"</button>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
