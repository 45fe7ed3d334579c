//! Personal Access Tokens (user menu): generate, list in three tabs
//! (active, expired, revoked), regenerate, revoke.

use crate::api::{
    create_token, list_scopes, list_tokens, my_audit_events, rotate_token, token_policy,
};
use crate::components::{
    tab_keys, AuditEvents, CurrentUser, ErrorText, Expiry, Flash, FlashKind, FlashMessage,
    LastUsed, LoadMore, LocalTime, Modal, NewTokenBody, Paging, RevokeDialog, ScopeChips,
    TokenDetails,
};
use crate::model::{
    network_entries, parse_network, AppError, LifetimePolicy, ScopeView, TokenFilter, TokenView,
    EXPIRY_PRESETS_DAYS, EXPIRY_WARNING_DAYS, TOKEN_TEXT_MAX,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Active,
    Expired,
    Revoked,
    Activity,
}

#[component]
pub fn TokensPage() -> impl IntoView {
    let flash: FlashMessage = RwSignal::new(None);
    let tokens = Resource::new(|| (), |_| list_tokens(TokenFilter::All));
    let tab = RwSignal::new(Tab::Active);
    let creating = RwSignal::new(false);
    let revoking = RwSignal::new(None::<TokenView>);
    let rotating = RwSignal::new(None::<TokenView>);
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
                    Ok(list) => view! {
                        <ExpiringBanner list=list.clone() rotating />
                        <TokenTabs list viewer tab revoking rotating />
                    }.into_any(),
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
        {move || rotating.get().map(|token| view! {
            <RotateDialog
                token
                on_close=move || rotating.set(None)
                on_rotated=move || {
                    flash.set(Some((FlashKind::Success, "Access token was regenerated; the old one no longer works.".into())));
                    tab.set(Tab::Active);
                    tokens.refetch();
                }
            />
        })}
    }
}

/// Names each active token expiring within a week, with a one-click Regenerate.
#[component]
fn ExpiringBanner(list: Vec<TokenView>, rotating: RwSignal<Option<TokenView>>) -> impl IntoView {
    let soon: Vec<TokenView> = list.into_iter().filter(|t| t.expires_soon).collect();
    (!soon.is_empty()).then(|| view! {
        <div class="flash warning expiring" role="status" data-testid="expiring-banner">
            <p><strong>{format!("{} of your tokens will expire within {EXPIRY_WARNING_DAYS} days:", soon.len())}</strong></p>
            <ul>
                {soon.into_iter().map(|t| {
                    let for_dialog = t.clone();
                    view! {
                        <li>
                            {t.description} " — " <Expiry at=t.expires_at />" "
                            <button type="button" class="secondary small"
                                on:click=move |_| rotating.set(Some(for_dialog.clone()))>"Regenerate"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    })
}

#[component]
fn TokenTabs(
    list: Vec<TokenView>,
    viewer: String,
    tab: RwSignal<Tab>,
    revoking: RwSignal<Option<TokenView>>,
    rotating: RwSignal<Option<TokenView>>,
) -> impl IntoView {
    let (mut revoked, rest): (Vec<_>, Vec<_>) = list.into_iter().partition(|t| t.revoked);
    let (mut expired, mut active): (Vec<_>, Vec<_>) = rest.into_iter().partition(|t| t.expired);
    // Newest first; ISO-8601 UTC strings sort as times. Ties fall back to id.
    active.sort_by(|a, b| (&b.created_at, b.id).cmp(&(&a.created_at, a.id)));
    expired.sort_by(|a, b| (&b.expires_at, b.id).cmp(&(&a.expires_at, a.id)));
    revoked.sort_by(|a, b| (&b.revoked_at, b.id).cmp(&(&a.revoked_at, a.id)));
    let (n_active, n_expired, n_revoked) = (active.len(), expired.len(), revoked.len());
    let tab_button = move |which: Tab, label: &'static str, n: usize| {
        view! {
            <button type="button" role="tab" aria-selected=move || (tab.get() == which).to_string()
                on:click=move |_| tab.set(which)>
                {label} " " <span class="count">{n}</span>
            </button>
        }
    };
    view! {
        <div class="tabs" role="tablist" on:keydown=tab_keys>
            {tab_button(Tab::Active, "Active Tokens", n_active)}
            {tab_button(Tab::Expired, "Expired Tokens", n_expired)}
            {tab_button(Tab::Revoked, "Revoked Tokens", n_revoked)}
            <button type="button" role="tab" aria-selected=move || (tab.get() == Tab::Activity).to_string()
                on:click=move |_| tab.set(Tab::Activity)>"Activity"</button>
        </div>
        <div role="tabpanel" class="tab-panel" hidden=move || tab.get() != Tab::Active>
            {if active.is_empty() {
                view! {
                    <p class="empty">
                        "You don't have any active tokens. Click on 'Generate Token' button to create a new token."
                    </p>
                }.into_any()
            } else {
                view! { <LiveTable tokens=active revoking rotating testid="active-tokens" /> }.into_any()
            }}
        </div>
        <div role="tabpanel" class="tab-panel" hidden=move || tab.get() != Tab::Expired>
            {if expired.is_empty() {
                view! { <p class="empty">"You don't have any expired tokens."</p> }.into_any()
            } else {
                view! { <LiveTable tokens=expired revoking rotating testid="expired-tokens" /> }.into_any()
            }}
        </div>
        <div role="tabpanel" class="tab-panel" hidden=move || tab.get() != Tab::Revoked>
            {if revoked.is_empty() {
                view! { <p class="empty">"You don't have any revoked tokens."</p> }.into_any()
            } else {
                view! { <RevokedTable tokens=revoked viewer /> }.into_any()
            }}
        </div>
        <Show when=move || tab.get() == Tab::Activity>
            <div role="tabpanel" class="tab-panel">
                <Activity />
            </div>
        </Show>
    }
}

/// The events about the viewer's tokens, sign-ins and account, newest first,
/// loaded when the tab is first shown.
#[component]
fn Activity() -> impl IntoView {
    let first_page = Resource::new(|| (), |_| my_audit_events(None));
    let paging = Paging::new();
    let load_more = move |()| {
        paging.load(
            |cursor| async move {
                my_audit_events(Some(cursor))
                    .await
                    .map(|p| (p.events, p.next))
            },
            || true,
        );
    };
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading activity…"</p> }>
            {move || Suspend::new(async move {
                match first_page.await {
                    Ok(page) if page.events.is_empty() => {
                        view! { <p class="empty">"No activity yet."</p> }.into_any()
                    }
                    Ok(page) => {
                        paging.restart(page.next);
                        view! { <AuditEvents first=page.events more=paging.more /> }.into_any()
                    }
                    Err(e) => view! { <ErrorText error=e /> }.into_any(),
                }
            })}
        </Transition>
        <LoadMore paging on_load=load_more />
    }
}

/// Active or expired tokens: each may be regenerated or revoked.
#[component]
fn LiveTable(
    tokens: Vec<TokenView>,
    revoking: RwSignal<Option<TokenView>>,
    rotating: RwSignal<Option<TokenView>>,
    testid: &'static str,
) -> impl IntoView {
    view! {
        <table class="tokens" data-testid=testid>
            <thead>
                <tr>
                    <th>"Description"</th><th>"Created At"</th><th>"Last Used"</th><th>"Expires"</th>
                    <th><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {tokens.into_iter().map(|t| {
                    let (to_revoke, to_rotate) = (t.clone(), t.clone());
                    let details = t.clone();
                    view! {
                        <tr data-token-id=t.id>
                            <td data-label="Description" class="description">
                                {t.description}<ScopeChips scopes=t.scopes /><TokenDetails token=details />
                            </td>
                            <td data-label="Created At"><LocalTime iso=t.created_at /></td>
                            <td data-label="Last Used"><LastUsed at=t.last_used_at /></td>
                            <td data-label="Expires"><Expiry at=t.expires_at /></td>
                            <td data-label="" class="actions">
                                <button type="button" class="secondary"
                                    on:click=move |_| rotating.set(Some(to_rotate.clone()))>
                                    "Regenerate"
                                </button>
                                <button type="button" class="danger-outline"
                                    on:click=move |_| revoking.set(Some(to_revoke.clone()))>
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
                    let by = match t.revoked_by.clone() {
                        Some(b) if b.eq_ignore_ascii_case(&viewer) => "You".to_string(),
                        Some(b) => b,
                        None => String::new(),
                    };
                    let details = t.clone();
                    view! {
                        <tr data-token-id=t.id>
                            <td data-label="Description" class="description">
                                {t.description}<ScopeChips scopes=t.scopes /><TokenDetails token=details />
                            </td>
                            <td data-label="Created At"><LocalTime iso=t.created_at /></td>
                            <td data-label="Last Used"><LastUsed at=t.last_used_at /></td>
                            <td data-label="Revoked By">{by}</td>
                            <td data-label="Revoked At">{t.revoked_at.map(|at| view! { <LocalTime iso=at /> })}</td>
                            <td data-label="Revoked Message" class="description">{t.revoke_cause}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// "Regenerate Token": a new token like this one, shown once; this one
/// stops working at once.
#[component]
fn RotateDialog(
    token: TokenView,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_rotated: Callback<()>,
) -> impl IntoView {
    let id = token.id;
    let rotate = Action::new(move |_: &()| async move {
        let result = rotate_token(id).await;
        if result.is_ok() {
            on_rotated.run(());
        }
        result
    });
    view! {
        <Modal title="Regenerate Access Token" on_close=on_close>
            {move || match rotate.value().get() {
                Some(Ok(created)) => view! {
                    <div class="modal-body"><NewTokenBody created /></div>
                    <div class="modal-footer">
                        <button type="button" class="primary" on:click=move |_| on_close.run(())>"Close"</button>
                    </div>
                }.into_any(),
                other => {
                    let error = other.and_then(Result::err);
                    let description = token.description.clone();
                    view! {
                        <div class="modal-body">
                            {error.map(|e| view! { <ErrorText error=e /> })}
                            <p>"Regenerate " <strong>{description}</strong> "? You get a new token with the same description, scopes and networks; this one stops working at once."</p>
                        </div>
                        <div class="modal-footer">
                            <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Cancel"</button>
                            <button type="button" class="primary" disabled=move || rotate.pending().get()
                                on:click=move |_| { rotate.dispatch(()); }>
                                {move || if rotate.pending().get() { "Regenerating…" } else { "Regenerate" }}
                            </button>
                        </div>
                    }.into_any()
                }
            }}
        </Modal>
    }
}

/// The expiry choices of the Generate dialog.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ExpiryChoice {
    Days(u32),
    Custom,
    Never,
}

impl ExpiryChoice {
    fn value(self) -> String {
        match self {
            ExpiryChoice::Days(d) => d.to_string(),
            ExpiryChoice::Custom => "custom".into(),
            ExpiryChoice::Never => "never".into(),
        }
    }

    fn parse(v: &str) -> Self {
        match v {
            "custom" => ExpiryChoice::Custom,
            "never" => ExpiryChoice::Never,
            d => d
                .parse()
                .map(ExpiryChoice::Days)
                .unwrap_or(ExpiryChoice::Never),
        }
    }
}

/// The choices a policy allows: the presets within its maximum (and the
/// maximum itself), a custom date, and never without a maximum.
fn expiry_choices(policy: LifetimePolicy) -> Vec<(ExpiryChoice, String)> {
    let mut out: Vec<(ExpiryChoice, String)> = EXPIRY_PRESETS_DAYS
        .iter()
        .filter(|&&d| policy.max_days.is_none_or(|m| d <= m))
        .map(|&d| {
            let label = if d == 365 {
                "1 year".to_string()
            } else {
                format!("{d} days")
            };
            (ExpiryChoice::Days(d), label)
        })
        .collect();
    if let Some(m) = policy.max_days.filter(|m| !EXPIRY_PRESETS_DAYS.contains(m)) {
        out.push((ExpiryChoice::Days(m), format!("{m} days (the maximum)")));
    }
    out.push((ExpiryChoice::Custom, "Custom date…".into()));
    if policy.max_days.is_none() {
        out.push((ExpiryChoice::Never, "Never".into()));
    }
    out
}

/// The default: 30 days, or the maximum if that is shorter.
fn default_expiry(policy: LifetimePolicy) -> ExpiryChoice {
    ExpiryChoice::Days(policy.max_days.map_or(30, |m| m.min(30)))
}

/// "Create Access Token": a description, scopes, expiry and networks, then
/// the token, shown once.
#[component]
fn CreateDialog(
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_created: Callback<()>,
) -> impl IntoView {
    let description = RwSignal::new(String::new());
    // The grants chosen: `api` unless the user picks otherwise.
    let grants = RwSignal::new(vec!["api".to_string()]);
    let services = Resource::new(|| (), |_| list_scopes());
    let policy = Resource::new(|| (), |_| token_policy());
    let expiry = RwSignal::new(None::<ExpiryChoice>);
    let custom_date = RwSignal::new(String::new());
    let networks = RwSignal::new(String::new());
    let bad_networks = Memo::new(move |_| {
        network_entries(&networks.get())
            .into_iter()
            .filter(|e| parse_network(e).is_none())
            .collect::<Vec<_>>()
    });
    let create = Action::new(move |ask: &Ask| {
        let ask = ask.clone();
        async move {
            let result = create_token(
                ask.description,
                Some(ask.grants),
                None,
                ask.expires_in_days,
                ask.expires_on,
                ask.networks,
            )
            .await;
            if result.is_ok() {
                on_created.run(());
            }
            result
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if create.pending().get_untracked() || !bad_networks.get_untracked().is_empty() {
            return;
        }
        let choice = expiry.get_untracked().unwrap_or_else(|| {
            default_expiry(
                policy
                    .get_untracked()
                    .and_then(Result::ok)
                    .unwrap_or_default(),
            )
        });
        let nets = network_entries(&networks.get_untracked());
        create.dispatch(Ask {
            description: description.get_untracked(),
            grants: grants.get_untracked(),
            expires_in_days: match choice {
                ExpiryChoice::Days(d) => Some(d),
                _ => None,
            },
            expires_on: (choice == ExpiryChoice::Custom).then(|| custom_date.get_untracked()),
            networks: (!nets.is_empty()).then_some(nets),
        });
    };
    view! {
        <Modal title="Create Access Token" on_close=on_close>
            {move || match create.value().get() {
                Some(Ok(created)) => view! {
                    <div class="modal-body"><NewTokenBody created /></div>
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
                                <Transition fallback=|| ()>
                                    {move || Suspend::new(async move {
                                        let p = policy.await.unwrap_or_default();
                                        let chosen = move || expiry.get().unwrap_or_else(|| default_expiry(p));
                                        view! {
                                            <label for="token-expiry">"Expiration"</label>
                                            <select id="token-expiry" on:change=move |ev| {
                                                expiry.set(Some(ExpiryChoice::parse(&event_target_value(&ev))))
                                            }>
                                                {expiry_choices(p).into_iter().map(|(c, label)| view! {
                                                    <option value=c.value() selected=move || chosen() == c>{label}</option>
                                                }).collect_view()}
                                            </select>
                                            <Show when=move || chosen() == ExpiryChoice::Custom>
                                                <input type="date" aria-label="Expiration date" required
                                                    prop:value=move || custom_date.get()
                                                    on:input=move |ev| custom_date.set(event_target_value(&ev)) />
                                            </Show>
                                            {p.max_days.map(|m| view! {
                                                <p class="muted" data-testid="lifetime-policy">
                                                    {format!("Your administrator allows tokens to live at most {m} days.")}
                                                </p>
                                            })}
                                        }
                                    })}
                                </Transition>
                                <label for="token-networks">"Allowed networks (optional)"</label>
                                <input id="token-networks" type="text" autocomplete="off"
                                    placeholder="e.g. 10.0.0.0/8, 2001:db8::/32"
                                    aria-invalid=move || (!bad_networks.get().is_empty()).to_string()
                                    prop:value=move || networks.get()
                                    on:input=move |ev| networks.set(event_target_value(&ev)) />
                                {move || {
                                    let bad = bad_networks.get();
                                    if bad.is_empty() {
                                        view! { <p class="muted">"Leave empty to allow the token from anywhere."</p> }.into_any()
                                    } else {
                                        view! {
                                            <p class="error" role="alert" data-testid="networks-error">
                                                {format!("Not a network or address: {}", bad.join(", "))}
                                            </p>
                                        }.into_any()
                                    }
                                }}
                            </div>
                            <div class="modal-footer">
                                <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Cancel"</button>
                                <button type="submit" class="primary"
                                    disabled=move || create.pending().get() || !bad_networks.get().is_empty()>
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

/// What the Generate dialog sends.
#[derive(Clone)]
struct Ask {
    description: String,
    grants: Vec<String>,
    expires_in_days: Option<u32>,
    /// `YYYY-MM-DD`: the token works through that day (UTC).
    expires_on: Option<String>,
    networks: Option<Vec<String>>,
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
