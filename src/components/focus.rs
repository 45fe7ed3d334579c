//! Keyboard focus: dialogs that hold it (Tab and Shift-Tab cycle inside, Esc
//! closes, the opener gets it back), arrow keys in tab lists, and the `/`
//! key that jumps to a page's search box. All of it happens in the browser;
//! on the server these do nothing.

use leptos::html;
use leptos::prelude::*;

/// While the calling component lives: focuses the first field of `dialog`
/// once it is shown, keeps Tab and Shift-Tab inside it, closes it on Esc, and
/// on close gives focus back to whatever had it when the dialog opened.
pub fn trap_focus(dialog: NodeRef<html::Div>, on_close: Callback<()>) {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    browser::trap_focus(dialog, on_close);
    #[cfg(not(any(feature = "hydrate", feature = "csr")))]
    let _ = (dialog, on_close);
}

/// While the calling component lives: `/` pressed outside a text field (and
/// with no dialog open) focuses `input` and selects its text.
pub fn slash_focuses(input: NodeRef<html::Input>) {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    browser::slash_focuses(input);
    #[cfg(not(any(feature = "hydrate", feature = "csr")))]
    let _ = input;
}

/// Focuses `input` (after a Clear search, say).
pub fn focus_input(input: NodeRef<html::Input>) {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    if let Some(i) = input.get_untracked() {
        let _ = i.focus();
    }
    #[cfg(not(any(feature = "hydrate", feature = "csr")))]
    let _ = input;
}

/// A tab list's keys (the WAI-ARIA tabs pattern): Left and Right move to the
/// previous and next tab (wrapping), Home and End to the first and last, and
/// the tab moved to is chosen. Put it on the `role="tablist"` element.
pub fn tab_keys(e: leptos::ev::KeyboardEvent) {
    #[cfg(any(feature = "hydrate", feature = "csr"))]
    browser::tab_keys(e);
    #[cfg(not(any(feature = "hydrate", feature = "csr")))]
    let _ = e;
}

#[cfg(any(feature = "hydrate", feature = "csr"))]
mod browser {
    use leptos::ev;
    use leptos::html;
    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use wasm_bindgen::JsCast;
    use web_sys::{Element, HtmlElement};

    /// What Tab can reach, in document order (visibility is checked apart).
    const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), \
         select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])";

    fn focusables(root: &Element) -> Vec<HtmlElement> {
        let Ok(list) = root.query_selector_all(FOCUSABLE) else {
            return Vec::new();
        };
        (0..list.length())
            .filter_map(|i| list.item(i))
            .filter_map(|n| n.dyn_into::<HtmlElement>().ok())
            .filter(|e| e.get_client_rects().length() > 0)
            .collect()
    }

    /// The field to start in: one marked `autofocus`, else the first control
    /// that is not the header's Close button, else that button.
    fn first_field(root: &Element) -> Option<HtmlElement> {
        if let Ok(Some(e)) = root.query_selector("[autofocus]") {
            if let Ok(e) = e.dyn_into::<HtmlElement>() {
                return Some(e);
            }
        }
        let all = focusables(root);
        all.iter()
            .find(|e| !e.class_list().contains("close"))
            .or(all.first())
            .cloned()
    }

    pub fn trap_focus(dialog: NodeRef<html::Div>, on_close: Callback<()>) {
        let opener = SendWrapper::new(document().active_element());
        Effect::new(move |_| {
            if let Some(root) = dialog.get() {
                if let Some(e) = first_field(&root) {
                    let _ = e.focus();
                }
            }
        });
        let keys = window_event_listener(ev::keydown, move |e: web_sys::KeyboardEvent| {
            let Some(root) = dialog.get_untracked() else {
                return;
            };
            match e.key().as_str() {
                "Escape" => {
                    e.prevent_default();
                    on_close.run(());
                }
                "Tab" => {
                    let items = focusables(&root);
                    let (Some(first), Some(last)) = (items.first(), items.last()) else {
                        e.prevent_default();
                        return;
                    };
                    let active = document().active_element();
                    let inside = active.as_ref().is_some_and(|a| root.contains(Some(a)));
                    let is =
                        |x: &HtmlElement| active.as_ref() == Some(x.unchecked_ref::<Element>());
                    let to = if !inside {
                        Some(if e.shift_key() { last } else { first })
                    } else if e.shift_key() && is(first) {
                        Some(last)
                    } else if !e.shift_key() && is(last) {
                        Some(first)
                    } else {
                        None
                    };
                    if let Some(to) = to {
                        e.prevent_default();
                        let _ = to.focus();
                    }
                }
                _ => {}
            }
        });
        on_cleanup(move || {
            keys.remove();
            let back = opener
                .take()
                .filter(|o| o.is_connected())
                .and_then(|o| o.dyn_into::<HtmlElement>().ok())
                .or_else(|| {
                    // The opener is gone (its row was redrawn): the page's heading.
                    document()
                        .query_selector("main h1")
                        .ok()
                        .flatten()
                        .and_then(|h| h.dyn_into::<HtmlElement>().ok())
                        .inspect(|h| {
                            let _ = h.set_attribute("tabindex", "-1");
                        })
                });
            if let Some(b) = back {
                let _ = b.focus();
            }
        });
    }

    /// Whether `e` was typed into a field, where `/` is just a character.
    fn typing(e: &web_sys::KeyboardEvent) -> bool {
        let Some(target) = e.target().and_then(|t| t.dyn_into::<HtmlElement>().ok()) else {
            return false;
        };
        matches!(target.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
            || target.is_content_editable()
    }

    pub fn tab_keys(e: web_sys::KeyboardEvent) {
        let Some(list) = e
            .current_target()
            .and_then(|t| t.dyn_into::<Element>().ok())
        else {
            return;
        };
        let Ok(nodes) = list.query_selector_all("[role=tab]") else {
            return;
        };
        let tabs: Vec<HtmlElement> = (0..nodes.length())
            .filter_map(|i| nodes.item(i))
            .filter_map(|n| n.dyn_into::<HtmlElement>().ok())
            .collect();
        let active = document().active_element();
        let Some(at) = tabs
            .iter()
            .position(|t| active.as_ref() == Some(t.unchecked_ref::<Element>()))
        else {
            return;
        };
        let n = tabs.len();
        let to = match e.key().as_str() {
            "ArrowRight" => (at + 1) % n,
            "ArrowLeft" => (at + n - 1) % n,
            "Home" => 0,
            "End" => n - 1,
            _ => return,
        };
        e.prevent_default();
        let _ = tabs[to].focus();
        tabs[to].click();
    }

    pub fn slash_focuses(input: NodeRef<html::Input>) {
        let keys = window_event_listener(ev::keydown, move |e: web_sys::KeyboardEvent| {
            if e.key() != "/"
                || e.ctrl_key()
                || e.meta_key()
                || e.alt_key()
                || e.default_prevented()
            {
                return;
            }
            let dialog_open = document()
                .query_selector("[aria-modal='true']")
                .ok()
                .flatten()
                .is_some();
            if typing(&e) || dialog_open {
                return;
            }
            if let Some(i) = input.get_untracked() {
                e.prevent_default();
                let _ = i.focus();
                i.select();
            }
        });
        on_cleanup(move || keys.remove());
    }
}
