//! Pieces shared by pages: header, dialogs, flash messages, dates, copy button.

mod focus;
mod text;

pub use focus::{focus_input, slash_focuses, tab_keys, trap_focus};
pub use text::{ago_in_words, highlight_pieces, match_ranges, utc_text};

use crate::api::{admin_revoke_token, current_user, revoke_token};
use crate::model::{AppError, TokenView, UserView, LOGOUT_PATH, TOKEN_TEXT_MAX};
use leptos::prelude::*;

/// The signed-in user, fetched once per page load and shared by the header and
/// the page through context.
pub type CurrentUser = OnceResource<Result<Option<UserView>, AppError>>;

pub fn provide_current_user() {
    provide_context::<CurrentUser>(OnceResource::new(current_user()));
}

/// The header: brand, the Admin menu for admins, and the user menu.
#[component]
pub fn Header() -> impl IntoView {
    let user = expect_context::<CurrentUser>();
    view! {
        <header class="site-header">
            <a class="brand" href="/go/access_tokens">"tollgate"</a>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(u)) => view! { <Menus user=u /> }.into_any(),
                        _ => view! { <a href="/go/auth/login">"Sign in"</a> }.into_any(),
                    }
                })}
            </Suspense>
        </header>
    }
}

#[component]
fn Menus(user: UserView) -> impl IntoView {
    let admin = user.is_admin.then(|| {
        view! {
            <Menu label="Admin".to_string() testid="admin-menu" id="admin-menu-items">
                <span class="menu-heading">"Security"</span>
                <a href="/go/admin/admin_access_tokens">"Access Tokens Management"</a>
                <a href="/go/admin/users">"Users"</a>
                <a href="/go/admin/scopes">"Scopes"</a>
                <a href="/go/admin/audit_log">"Audit Log"</a>
            </Menu>
        }
    });
    view! {
        <nav class="menus" aria-label="Main">
            {admin}
            <Menu label=user.display_name.clone() testid="user-menu" id="user-menu-items">
                <a href="/go/access_tokens">"Personal Access Tokens"</a>
                <a href="/go/account/password">"Change password"</a>
                <form method="post" action=LOGOUT_PATH>
                    <button type="submit" class="link-button">"Logout"</button>
                </form>
            </Menu>
        </nav>
    }
}

/// A header menu: a button that shows and hides its links (a disclosure, so
/// Enter, Space, a click or a tap open it), closed again by Esc (focus back
/// on the button), by focus or a click leaving it, or by a second press. A
/// mouse also opens it by hovering (CSS), and before the WASM has loaded it
/// opens on focus (CSS), so it works from the first paint.
#[component]
fn Menu(
    label: String,
    testid: &'static str,
    id: &'static str,
    children: Children,
) -> impl IntoView {
    let open = RwSignal::new(false);
    // Closed on purpose (Esc, or the button again) while the mouse is over
    // it: hovering does not reopen it until the mouse has left.
    let shut = RwSignal::new(false);
    let root = NodeRef::<leptos::html::Div>::new();
    let button = NodeRef::<leptos::html::Button>::new();
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    {
        use wasm_bindgen::JsCast;
        let outside = window_event_listener(leptos::ev::pointerdown, move |e| {
            let target = e.target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
            if let (Some(root), Some(target)) = (root.try_get_untracked().flatten(), target) {
                if open.try_get_untracked() == Some(true) && !root.contains(Some(&target)) {
                    open.set(false);
                }
            }
        });
        on_cleanup(move || outside.remove());
    }
    let on_keydown = move |e: leptos::ev::KeyboardEvent| {
        if e.key() == "Escape" && open.try_get_untracked() == Some(true) {
            e.prevent_default();
            open.set(false);
            shut.set(true);
            #[cfg(any(feature = "hydrate", feature = "csr"))]
            if let Some(b) = button.try_get_untracked().flatten() {
                let _ = b.focus();
            }
        }
    };
    let on_focusout = move |e: leptos::ev::FocusEvent| {
        #[cfg(any(feature = "hydrate", feature = "csr"))]
        {
            use wasm_bindgen::JsCast;
            // Focus also leaves when the page is being replaced (a link was
            // followed): the menu is going away, leave it alone.
            let Some(menu) = root.try_get_untracked().flatten() else {
                return;
            };
            if !menu.is_connected() || open.try_get_untracked() != Some(true) {
                return;
            }
            let to = e
                .related_target()
                .and_then(|t| t.dyn_into::<web_sys::Node>().ok());
            if !to.is_some_and(|to| menu.contains(Some(&to))) {
                open.set(false);
            }
        }
        #[cfg(not(any(feature = "hydrate", feature = "csr")))]
        let _ = e;
    };
    // `try_get`: a change made while the page is being replaced must not
    // panic when it reaches a menu already gone.
    view! {
        <div class="menu" class:open=move || open.try_get().unwrap_or(false)
            class:shut=move || shut.try_get().unwrap_or(false) data-testid=testid node_ref=root
            on:keydown=on_keydown on:focusout=on_focusout on:mouseleave=move |_| shut.set(false)>
            <button type="button" class="menu-button" node_ref=button
                aria-expanded=move || open.try_get().unwrap_or(false).to_string() aria-controls=id
                on:click=move |_| {
                    open.update(|o| *o = !*o);
                    shut.set(!open.get_untracked());
                }>
                {label}
            </button>
            <div class="menu-items" id=id>{children()}</div>
        </div>
    }
}

/// A modal dialog, named by its title. Focus moves into it and stays there
/// (Tab and Shift-Tab cycle), Esc closes it, and on close focus returns to
/// the control that opened it. Clicking outside does not close it (as in
/// GoCD): a half-typed description or an unseen token is not lost.
#[component]
pub fn Modal(
    title: &'static str,
    #[prop(into)] on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let title_id = format!(
        "dialog-title-{}",
        title
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            })
            .collect::<String>()
    );
    let labelled_by = title_id.clone();
    let dialog = NodeRef::<leptos::html::Div>::new();
    trap_focus(dialog, on_close);
    view! {
        <div class="modal-backdrop">
            <div class="modal" role="dialog" aria-modal="true" aria-labelledby=labelled_by node_ref=dialog>
                <div class="modal-header">
                    <h2 id=title_id>{title}</h2>
                    <button type="button" class="close" aria-label="Close dialog" on:click=move |_| on_close.run(())>
                        "×"
                    </button>
                </div>
                {children()}
            </div>
        </div>
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
}

/// A message at the top of a page, until dismissed or replaced.
pub type FlashMessage = RwSignal<Option<(FlashKind, String)>>;

#[component]
pub fn Flash(message: FlashMessage) -> impl IntoView {
    move || {
        message.get().map(|(kind, text)| {
            let (class, role) = match kind {
                FlashKind::Success => ("flash success", "status"),
                FlashKind::Error => ("flash error", "alert"),
            };
            view! {
                <div class=class role=role>
                    <span>{text}</span>
                    <button type="button" class="close" aria-label="Dismiss" on:click=move |_| message.set(None)>
                        "×"
                    </button>
                </div>
            }
        })
    }
}

/// A server error, shown inside a dialog or a page.
#[component]
pub fn ErrorText(error: AppError) -> impl IntoView {
    let text = error.to_string();
    let expired = matches!(error, AppError::Unauthenticated);
    view! {
        <p class="flash error" role="alert">
            {text}
            {expired.then(|| view! { " " <a href="/go/auth/login">"Sign in again"</a> })}
        </p>
    }
}

/// When something happened: "3 minutes ago", with the exact local time on
/// hover (`title`) and on keyboard focus (CSS shows the title in place of
/// the words while it is focused, so no handler runs as rows come and go).
/// The server renders the UTC time, which hydration then replaces; the words
/// stay current while the page is open.
#[component]
pub fn LocalTime(iso: String) -> impl IntoView {
    let utc = utc_text(&iso);
    let relative = RwSignal::new(utc.clone());
    let exact = RwSignal::new(utc);
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    {
        let iso = iso.clone();
        let now = clock();
        Effect::new(move |_| {
            let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&iso)).get_time();
            if !when.is_nan() {
                exact.set(local_time(&iso));
                relative.set(ago_in_words(now.get() - when));
            }
        });
    }
    view! {
        <time class="when" datetime=iso title=move || exact.get() tabindex="0">
            <span class="words">{move || relative.get()}</span>
        </time>
    }
}

/// The time now, in ms, updated every 30 seconds: one clock for the page.
#[cfg(any(feature = "hydrate", feature = "csr"))]
fn clock() -> ArcReadSignal<f64> {
    thread_local! {
        static NOW: ArcRwSignal<f64> = {
            let now = ArcRwSignal::new(js_sys::Date::now());
            let tick = now.clone();
            set_interval(move || tick.set(js_sys::Date::now()), std::time::Duration::from_secs(30));
            now
        };
    }
    NOW.with(|n| n.read_only())
}

#[cfg(any(feature = "hydrate", feature = "csr"))]
fn local_time(iso: &str) -> String {
    use wasm_bindgen::JsValue;
    let date = js_sys::Date::new(&JsValue::from_str(iso));
    if date.get_time().is_nan() {
        return iso.to_string();
    }
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &"dateStyle".into(), &"medium".into());
    let _ = js_sys::Reflect::set(&options, &"timeStyle".into(), &"short".into());
    date.to_locale_string("default", &options).into()
}

/// `text` with each occurrence of `query` (case-insensitive) in `<mark>`.
/// Built as text nodes and elements, never as markup: user data stays text.
#[component]
pub fn Highlight(#[prop(into)] text: String, #[prop(into)] query: String) -> impl IntoView {
    highlight_pieces(&text, &query)
        .into_iter()
        .map(|(piece, hit)| {
            let piece = piece.to_string();
            if hit {
                view! { <mark>{piece}</mark> }.into_any()
            } else {
                piece.into_any()
            }
        })
        .collect_view()
}

/// Copies `text` with the Clipboard API and says whether it worked.
#[component]
pub fn CopyButton(text: String) -> impl IntoView {
    let state = RwSignal::new(None::<bool>);
    let copy = move |_| {
        #[cfg(any(feature = "hydrate", feature = "csr"))]
        {
            let text = text.clone();
            leptos::task::spawn_local(async move {
                let promise = window().navigator().clipboard().write_text(&text);
                let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
                state.set(Some(ok));
            });
        }
        #[cfg(not(any(feature = "hydrate", feature = "csr")))]
        let _ = &text;
    };
    view! {
        <button type="button" class="secondary copy" on:click=copy>
            {move || match state.get() {
                Some(true) => "Copied!",
                Some(false) => "Copy failed: select and copy by hand",
                None => "Copy",
            }}
        </button>
    }
}

/// "Last Used": a local time, or "Never".
#[component]
pub fn LastUsed(at: Option<String>) -> impl IntoView {
    match at {
        Some(at) => view! { <LocalTime iso=at /> }.into_any(),
        None => view! { "Never" }.into_any(),
    }
}

/// "Revoke Token": are you sure, and an optional reason.
#[component]
pub fn RevokeDialog(
    token: TokenView,
    /// Revoke as an admin (anyone's token) rather than as the owner.
    admin: bool,
    #[prop(into)] on_close: Callback<()>,
    #[prop(into)] on_revoked: Callback<()>,
) -> impl IntoView {
    let cause = RwSignal::new(String::new());
    let id = token.id;
    let revoke = Action::new(move |c: &String| {
        let c = c.clone();
        async move {
            let result = if admin {
                admin_revoke_token(id, Some(c)).await
            } else {
                revoke_token(id, Some(c)).await
            };
            if result.is_ok() {
                on_revoked.run(());
            }
            result
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !revoke.pending().get_untracked() {
            revoke.dispatch(cause.get_untracked());
        }
    };
    let error = move || revoke.value().get().and_then(Result::err);
    view! {
        <Modal title="Revoke Token" on_close=on_close>
            <form on:submit=submit>
                <div class="modal-body">
                    {move || error().map(|e: AppError| view! { <ErrorText error=e /> })}
                    <p>"Are you sure you want to revoke this token?"</p>
                    <p class="muted description">{token.description.clone()}</p>
                    <label for="revoke-cause">"Reason (optional)"</label>
                    <textarea id="revoke-cause" rows="3" maxlength=TOKEN_TEXT_MAX
                        placeholder="Why do you want to revoke this token?"
                        prop:value=move || cause.get()
                        on:input=move |ev| cause.set(event_target_value(&ev))></textarea>
                </div>
                <div class="modal-footer">
                    <button type="button" class="secondary" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button type="submit" class="danger" disabled=move || revoke.pending().get()>
                        {move || if revoke.pending().get() { "Revoking…" } else { "Revoke token" }}
                    </button>
                </div>
            </form>
        </Modal>
    }
}

/// A token's scopes, as chips.
#[component]
pub fn ScopeChips(scopes: Vec<String>) -> impl IntoView {
    view! {
        <span class="chips" data-testid="scopes">
            {scopes.into_iter().map(|s| view! { <span class="chip">{s}</span> }).collect_view()}
        </span>
    }
}

/// When a token expires: "Expires in 12 days" or "Expired 3 days ago" (the
/// exact local time on hover and on keyboard focus), or "Never". The server
/// renders the UTC time, which hydration then replaces with words.
#[component]
pub fn Expiry(at: Option<String>) -> impl IntoView {
    let Some(at) = at else {
        return view! { <span class="muted expiry">"Never"</span> }.into_any();
    };
    let utc = utc_text(&at);
    let text = RwSignal::new(utc.clone());
    let title = RwSignal::new(utc);
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    {
        let at = at.clone();
        let now = clock();
        Effect::new(move |_| {
            let when = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&at)).get_time();
            if !when.is_nan() {
                text.set(crate::model::expiry_in_words(when - now.get()));
                title.set(local_time(&at));
            }
        });
    }
    view! {
        <time class="expiry" datetime=at title=move || title.get() tabindex="0" data-testid="expiry">
            <span class="words">{move || text.get()}</span>
        </time>
    }
    .into_any()
}

/// A new token's secret, shown this one time (Generate and Regenerate).
#[component]
pub fn NewTokenBody(created: crate::model::CreatedToken) -> impl IntoView {
    // The form that had focus is gone: focus (and so select) the token.
    let field = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if field.get().is_some() {
            focus_input(field);
        }
    });
    view! {
        <p class="warning" role="status">
            <strong>"Make sure you copy the token now. It will not be shown again."</strong>
        </p>
        <label for="new-token">"Your new token"</label>
        <div class="token-box">
            <input id="new-token" type="text" readonly value=created.secret.clone() node_ref=field
                data-testid="new-token" on:focus=move |ev| select_target(&ev) />
            <CopyButton text=created.secret.clone() />
        </div>
        <p class="muted">"For: " {created.token.description.clone()}</p>
        <p class="muted">"Expires: " <Expiry at=created.token.expires_at.clone() /></p>
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

/// Where a token was used from, and the networks it is limited to: a row's
/// expandable details.
#[component]
pub fn TokenDetails(token: TokenView) -> impl IntoView {
    let limited = !token.allowed_cidrs.is_empty();
    let ips = token.last_used_ips.join(", ");
    view! {
        {limited.then(|| view! {
            <span class="badge" title=token.allowed_cidrs.join(", ") data-testid="allowlisted">"network-limited"</span>
        })}
        <details class="token-details">
            <summary>"Details"</summary>
            <dl>
                <dt>"Used from"</dt>
                <dd data-testid="last-used-ips">{if ips.is_empty() { "Not used yet".to_string() } else { ips }}</dd>
                <dt>"Last user agent"</dt>
                <dd>{token.last_used_user_agent.unwrap_or_else(|| "Unknown".into())}</dd>
                <dt>"Allowed networks"</dt>
                <dd>{if limited { token.allowed_cidrs.join(", ") } else { "Anywhere".into() }}</dd>
                {token.rotated_from.map(|id| view! { <dt>"Rotated from"</dt><dd>"Token " {id}</dd> })}
            </dl>
        </details>
    }
}

/// A short line for an event's details: `key: value` pairs, lists joined.
pub fn details_text(details: &serde_json::Value) -> String {
    use serde_json::Value;
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    match details {
        Value::Object(o) => o
            .iter()
            .filter(|(_, v)| !v.is_null() && v.as_str() != Some(""))
            .map(|(k, v)| format!("{}: {}", k.replace('_', " "), show(v)))
            .collect::<Vec<_>>()
            .join(" · "),
        _ => String::new(),
    }
}

/// Audit events, newest first: when, who and how, what, about whom, from
/// where. A token id opens that token's story when `on_token` is given.
/// `query`, the search they were found by, is marked in them.
#[component]
pub fn AuditEvents(
    first: Vec<crate::model::AuditEventView>,
    more: RwSignal<Vec<crate::model::AuditEventView>>,
    #[prop(optional, into)] on_token: Option<Callback<i64>>,
    #[prop(optional, into)] query: String,
) -> impl IntoView {
    let query: std::sync::Arc<str> = query.into();
    let row = move |e: crate::model::AuditEventView| {
        let q = query.to_string();
        let mark = move |text: String| view! { <Highlight text query=q.clone() /> };
        let token = e.target_token_id.map(|id| {
            let label = mark(format!("token #{id}"));
            match on_token {
                Some(open) => view! {
                    <button type="button" class="link" data-testid="token-story"
                        on:click=move |_| open.run(id)>{label}</button>
                }
                .into_any(),
                None => view! { <span>{label}</span> }.into_any(),
            }
        });
        let action = e.action.clone();
        view! {
            <tr data-event-id=e.id data-action=action>
                <td data-label="When"><LocalTime iso=e.at /></td>
                <td data-label="Actor">
                    <div class="who"><span>{mark(e.actor)}</span><span class="badge method">{e.actor_method}</span></div>
                </td>
                <td data-label="Action"><code>{mark(e.action)}</code></td>
                <td data-label="About"><div class="who"><span>{e.target_user.map(&mark)}</span>{token}</div></td>
                <td data-label="From"><span>{e.client_ip.map(&mark)}</span></td>
                <td data-label="Details" class="description" title=e.user_agent.unwrap_or_default()>
                    <span>{mark(details_text(&e.details))}</span>
                </td>
            </tr>
        }
    };
    let first_rows = first.into_iter().map(row.clone()).collect_view();
    view! {
        <table class="tokens audit" data-testid="audit-events">
            <thead>
                <tr><th>"When"</th><th>"Actor"</th><th>"Action"</th><th>"About"</th><th>"From"</th><th>"Details"</th></tr>
            </thead>
            <tbody>
                {first_rows}
                <For each=move || more.get() key=|e| e.id children=row />
            </tbody>
        </table>
    }
}

/// Under a paged list: its error, if the last load failed, and the button,
/// while there is a next page.
#[component]
pub fn LoadMore<T: Send + Sync + 'static>(
    paging: Paging<T>,
    #[prop(into)] on_load: Callback<()>,
) -> impl IntoView {
    let Paging {
        next,
        loading,
        error,
        ..
    } = paging;
    view! {
        {move || error.get().map(|e| view! { <ErrorText error=e /> })}
        <Show when=move || next.get().is_some()>
            <div class="load-more">
                <button type="button" class="secondary" on:click=move |_| on_load.run(()) disabled=move || loading.get()>
                    {move || if loading.get() { "Loading…" } else { "Load more" }}
                </button>
            </div>
        </Show>
    }
}

/// What a paged list loaded after its first page, where the next page
/// starts, and whether one is being loaded.
pub struct Paging<T: Send + Sync + 'static> {
    pub more: RwSignal<Vec<T>>,
    pub next: RwSignal<Option<String>>,
    pub loading: RwSignal<bool>,
    pub error: RwSignal<Option<AppError>>,
}

impl<T: Send + Sync + 'static> Clone for Paging<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Paging<T> {}

impl<T: Send + Sync + 'static> Paging<T> {
    pub fn new() -> Self {
        Paging {
            more: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
            loading: RwSignal::new(false),
            error: RwSignal::new(None),
        }
    }

    /// A new first page was shown: forget what came after the last one.
    pub fn restart(&self, next: Option<String>) {
        self.more.set(Vec::new());
        self.next.set(next);
        self.error.set(None);
    }

    /// Loads the next page with `fetch` (given the cursor) and appends it,
    /// unless `current` says the list shown has changed meanwhile.
    pub fn load<F, Fut>(&self, fetch: F, current: impl Fn() -> bool + 'static)
    where
        F: FnOnce(String) -> Fut + 'static,
        Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), AppError>> + 'static,
    {
        let Some(cursor) = self.next.get_untracked() else {
            return;
        };
        let this = *self;
        this.loading.set(true);
        leptos::task::spawn_local(async move {
            let result = fetch(cursor).await;
            this.loading.set(false);
            if !current() {
                return;
            }
            match result {
                Ok((items, next)) => {
                    this.more.update(|m| m.extend(items));
                    this.next.set(next);
                    this.error.set(None);
                }
                Err(e) => this.error.set(Some(e)),
            }
        });
    }
}

impl<T: Send + Sync + 'static> Default for Paging<T> {
    fn default() -> Self {
        Self::new()
    }
}
