import { test, expect, APIRequestContext, Page } from "@playwright/test";
import { login, waitForHydration, expectAccessible, ADMIN_PASSWORD } from "./helpers";

const V1 = "application/vnd.go.cd.v1+json";
const adminAuth = "Basic " + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64");

/** Gives the admin something in every list: an expiring token, a revoked one. */
async function seed(request: APIRequestContext, marker: string) {
  const create = async (description: string, days?: number) => {
    const expires_at = days && new Date(Date.now() + days * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
    const res = await request.post("/go/api/current_user/access_tokens", {
      headers: { Accept: V1, Authorization: adminAuth },
      data: { description, ...(expires_at ? { expires_at } : {}) },
    });
    expect(res.status()).toBe(200);
    return (await res.json()).id as number;
  };
  await create(`${marker} expiring soon`, 3);
  const old = await create(`${marker} retired`);
  const revoked = await request.post(`/go/api/current_user/access_tokens/${old}/revoke`, {
    headers: { Accept: V1, Authorization: adminAuth },
    data: { revoke_cause: `${marker} replaced` },
  });
  expect(revoked.status()).toBe(200);
}

async function visit(page: Page, path: string) {
  await page.goto(path);
  await waitForHydration(page);
  await expect(page.locator("main h1")).toBeVisible();
}

for (const scheme of ["light", "dark"] as const) {
  test.describe(`${scheme} colour scheme`, () => {
    test.use({ colorScheme: scheme });

    test(`axe finds nothing serious on any page or dialog (${scheme})`, async ({ page, request }) => {
      const marker = `a11y${scheme}${Date.now()}`;
      await seed(request, marker);

      await page.goto("/go/auth/login");
      // The scheme is really in force: a dark page has a dark background.
      const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
      expect(background).toBe(scheme === "dark" ? "rgb(18, 21, 28)" : "rgb(244, 246, 250)");
      await expectAccessible(page, `the login page (${scheme})`);
      await page.goto("/go/auth/login?error=invalid");
      await expectAccessible(page, `the login page with an error (${scheme})`);

      await login(page);
      await expect(page.getByTestId("expiring-banner")).toBeVisible();
      await expectAccessible(page, `Personal Access Tokens, active (${scheme})`);
      for (const tab of [/Expired Tokens/, /Revoked Tokens/, /Activity/]) {
        await page.getByRole("tab", { name: tab }).click();
        await expect(page.getByRole("tabpanel").last()).toBeVisible();
        await expectAccessible(page, `Personal Access Tokens, ${tab.source} (${scheme})`);
      }
      await expect(page.getByTestId("audit-events")).toBeVisible();

      // Open menus, by keyboard.
      await page.getByTestId("admin-menu").getByRole("button").focus();
      await page.keyboard.press("Enter");
      await expect(page.getByRole("link", { name: "Scopes" })).toBeVisible();
      await expectAccessible(page, `the open Admin menu (${scheme})`);
      await page.keyboard.press("Escape");

      // Dialogs: the form, its error, the new token.
      await page.getByRole("tab", { name: /Active Tokens/ }).click();
      await page.getByRole("button", { name: "Generate Token" }).click();
      const dialog = page.getByRole("dialog", { name: "Create Access Token" });
      await expect(dialog.getByLabel("Expiration")).toBeVisible();
      await expectAccessible(page, `the Create Access Token dialog (${scheme})`);
      await dialog.getByLabel("Allowed networks (optional)").fill("10.0.0.0/33");
      await expect(dialog.getByTestId("networks-error")).toBeVisible();
      await expectAccessible(page, `the Create Access Token dialog with an error (${scheme})`);
      await dialog.getByLabel("Allowed networks (optional)").fill("");
      await dialog.getByLabel("Description").fill(`${marker} fresh`);
      await dialog.getByRole("button", { name: "Generate" }).click();
      await expect(dialog.getByTestId("new-token")).toHaveValue(/^tgp_/);
      await expect(page.getByRole("status").filter({ hasText: "successfully created" })).toBeVisible();
      await expectAccessible(page, `a new token's dialog and the success message (${scheme})`);
      await dialog.getByRole("button", { name: "Close", exact: true }).click();
      await page.getByTestId("active-tokens").getByRole("row", { name: new RegExp(`${marker} fresh`) })
        .getByRole("button", { name: "Revoke" }).click();
      await expect(page.getByRole("dialog", { name: "Revoke Token" })).toBeVisible();
      await expectAccessible(page, `the Revoke Token dialog (${scheme})`);
      await page.keyboard.press("Escape");

      // The admin pages, a search with its marks, an empty search.
      await visit(page, `/go/admin/admin_access_tokens?q=${marker}`);
      await expect(page.locator("mark").first()).toBeVisible();
      await expectAccessible(page, `Access Tokens Management with a search (${scheme})`);
      await visit(page, `/go/admin/admin_access_tokens?q=${marker}&tab=revoked`);
      await expect(page.getByTestId("revoked-tokens")).toBeVisible();
      await expectAccessible(page, `Access Tokens Management, revoked (${scheme})`);
      await visit(page, `/go/admin/admin_access_tokens?q=${marker}-none`);
      await expect(page.getByRole("button", { name: "Clear search" })).toBeVisible();
      await expectAccessible(page, `Access Tokens Management, nothing found (${scheme})`);
      await visit(page, "/go/admin/users");
      await expect(page.getByTestId("users")).toBeVisible();
      await expectAccessible(page, `Users (${scheme})`);
      await page.getByRole("button", { name: "Add User" }).click();
      await expect(page.getByRole("dialog", { name: "Add User" })).toBeVisible();
      await expectAccessible(page, `the Add User dialog (${scheme})`);
      await page.keyboard.press("Escape");
      await visit(page, "/go/account/password");
      await page.getByLabel("New password", { exact: true }).fill("one new password");
      await page.getByLabel("Confirm new password").fill("another");
      await expect(page.getByText("The new passwords do not match.")).toBeVisible();
      await expectAccessible(page, `Change password with an error (${scheme})`);
      await visit(page, "/go/admin/scopes");
      await expectAccessible(page, `Scopes (${scheme})`);
      await visit(page, `/go/admin/audit_log?q=${marker}`);
      await expect(page.getByTestId("audit-events").locator("mark").first()).toBeVisible();
      await expectAccessible(page, `Audit Log with a search (${scheme})`);
      await visit(page, "/go/admin/audit_log?until=2001-01-01");
      await expectAccessible(page, `Audit Log, nothing found (${scheme})`);
    });
  });
}

test("dialogs hold the keyboard: focus inside, Tab cycles, Esc closes, focus returns", async ({ page }) => {
  await login(page);
  const opener = page.getByRole("button", { name: "Generate Token" });
  await opener.focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Create Access Token" });
  await expect(dialog).toHaveAttribute("aria-modal", "true");
  // Focus starts in the first field.
  await expect(dialog.getByLabel("Description")).toBeFocused();
  // Shift-Tab from the first control wraps to the last, Tab wraps back.
  await dialog.getByRole("button", { name: "Close dialog" }).focus();
  await page.keyboard.press("Shift+Tab");
  await expect(dialog.getByRole("button", { name: "Generate" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(dialog.getByRole("button", { name: "Close dialog" })).toBeFocused();
  // Many Tabs never leave it.
  for (let i = 0; i < 12; i++) await page.keyboard.press("Tab");
  expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(opener).toBeFocused();
});

test("tab lists follow the arrow keys, Home and End", async ({ page }) => {
  await login(page);
  const tab = (name: RegExp) => page.getByRole("tablist").getByRole("tab", { name });
  await tab(/^Active Tokens/).focus();
  await page.keyboard.press("ArrowRight");
  await expect(tab(/^Expired Tokens/)).toBeFocused();
  await expect(tab(/^Expired Tokens/)).toHaveAttribute("aria-selected", "true");
  await expect(tab(/^Active Tokens/)).toHaveAttribute("aria-selected", "false");
  await page.keyboard.press("End");
  await expect(tab(/^Activity/)).toBeFocused();
  await expect(tab(/^Activity/)).toHaveAttribute("aria-selected", "true");
  // Right from the last wraps to the first, Left from the first to the last.
  await page.keyboard.press("ArrowRight");
  await expect(tab(/^Active Tokens/)).toHaveAttribute("aria-selected", "true");
  await page.keyboard.press("ArrowLeft");
  await expect(tab(/^Activity/)).toBeFocused();
  await page.keyboard.press("Home");
  await expect(tab(/^Active Tokens/)).toBeFocused();
  await expect(tab(/^Active Tokens/)).toHaveAttribute("aria-selected", "true");
});

test("the header menus work from the keyboard", async ({ page }) => {
  await login(page);
  const admin = page.getByTestId("admin-menu").getByRole("button");
  await expect(admin).toHaveAttribute("aria-expanded", "false");
  await admin.focus();
  await page.keyboard.press("Enter");
  await expect(admin).toHaveAttribute("aria-expanded", "true");
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Access Tokens Management" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(admin).toHaveAttribute("aria-expanded", "false");
  await expect(admin).toBeFocused();
  await expect(page.getByRole("link", { name: "Access Tokens Management" })).toBeHidden();

  // Space opens the user menu; Tab past its last item closes it.
  const me = page.getByTestId("user-menu").locator(".menu-button");
  await me.focus();
  await page.keyboard.press(" ");
  await expect(me).toHaveAttribute("aria-expanded", "true");
  for (const name of ["Personal Access Tokens", "Change password"]) {
    await page.keyboard.press("Tab");
    await expect(page.getByRole("link", { name })).toBeFocused();
  }
  await page.keyboard.press("Tab");
  await expect(page.getByRole("button", { name: "Logout" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(me).toHaveAttribute("aria-expanded", "false");
  await expect(page.getByRole("button", { name: "Logout" })).toBeHidden();
  // Its items are hidden again, so Shift-Tab comes straight back to the button.
  await page.keyboard.press("Shift+Tab");
  await expect(me).toBeFocused();
});

test("times read as words, with the exact time on hover and on focus", async ({ page, request }) => {
  const res = await request.post("/go/api/current_user/access_tokens", {
    headers: { Accept: V1, Authorization: adminAuth },
    data: { description: `times${Date.now()}` },
  });
  expect(res.status()).toBe(200);
  const { id } = await res.json();
  await login(page);
  const created = page.locator(`tr[data-token-id="${id}"] td[data-label="Created At"] time`);
  await expect(created).toHaveText(/^(just now|\d+ minutes? ago)$/);
  const exact = await created.getAttribute("title");
  expect(exact).toBeTruthy();
  expect(exact).not.toMatch(/ago|UTC/);
  await expect(created).toHaveAttribute("datetime", /^\d{4}-\d\d-\d\dT/);
  // Focused, it shows the exact time in place of the words (and so its
  // accessible name becomes the exact time).
  const shown = () => created.evaluate((t) => ({
    words: getComputedStyle(t.querySelector(".words")!).display !== "none",
    after: getComputedStyle(t, "::after").content,
  }));
  expect(await shown()).toEqual({ words: true, after: "none" });
  await created.focus();
  expect(await shown()).toEqual({ words: false, after: JSON.stringify(exact) });
  await page.keyboard.press("Tab");
  expect(await shown()).toEqual({ words: true, after: "none" });
});
