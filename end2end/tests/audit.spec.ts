import { test, expect, APIRequestContext } from "@playwright/test";
import { login, waitForHydration, ADMIN_PASSWORD } from "./helpers";

const V1 = "application/vnd.go.cd.v1+json";
const V3 = "application/vnd.go.cd.v3+json";
const basic = (u: string, p: string) => "Basic " + Buffer.from(`${u}:${p}`).toString("base64");
const adminAuth = basic("admin", ADMIN_PASSWORD);

/** A user with one token, rotated, then revoked with a cause: a short story. */
async function storyOfOneToken(request: APIRequestContext, marker: string) {
  const name = `usr${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const password = `${name}-password`;
  expect(
    (await request.post("/go/api/users", {
      headers: { Accept: V3, Authorization: adminAuth },
      data: { login_name: name, password },
    })).status(),
  ).toBe(200);
  const auth = basic(name, password);
  const created = await request.post("/go/api/current_user/access_tokens", {
    headers: { Accept: V1, Authorization: auth },
    data: { description: `${marker} deploy key` },
  });
  expect(created.status()).toBe(200);
  const first = (await created.json()).id as number;
  const rotated = await request.post(`/go/api/current_user/access_tokens/${first}/rotate`, {
    headers: { Accept: V1, Authorization: auth },
  });
  expect(rotated.status()).toBe(200);
  const second = (await rotated.json()).id as number;
  const revoked = await request.post(`/go/api/current_user/access_tokens/${second}/revoke`, {
    headers: { Accept: V1, Authorization: auth },
    data: { revoke_cause: `${marker} no longer needed` },
  });
  expect(revoked.status()).toBe(200);
  return { name, password, first, second };
}

test("the admin searches the audit log as they type and filters it, with the query in the URL", async ({ page, request }) => {
  const marker = `aud${Date.now()}`;
  const { name, first } = await storyOfOneToken(request, marker);
  await login(page, "admin", ADMIN_PASSWORD, "/go/access_tokens");
  const adminMenu = page.getByTestId("admin-menu");
  await adminMenu.getByRole("button", { name: "Admin" }).hover();
  await adminMenu.getByRole("link", { name: "Audit Log" }).click();
  await expect(page.getByRole("heading", { name: "Audit Log" })).toBeVisible();
  await waitForHydration(page);
  await page.evaluate(() => ((window as any).__sameDocument = true));

  const rows = page.getByTestId("audit-events").locator("tbody tr");
  await page.getByLabel("Search the audit log").fill(marker.toUpperCase());
  // Created, rotated, revoked by rotation, revoked with the cause.
  await expect(rows).toHaveCount(4);
  await expect(page).toHaveURL(new RegExp(`q=${marker.toUpperCase()}`));
  await expect(rows.first()).toContainText("token.revoked");
  await expect(rows.first()).toContainText(`${marker} no longer needed`);
  await expect(rows.last()).toContainText("token.created");
  await expect(rows.last()).toContainText(name);
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
  // The match is marked, whatever its case.
  await expect(rows.first().locator("mark").first()).toHaveText(marker);

  // A family filter narrows it, and survives a reload with the search.
  await page.getByTestId("audit-family").selectOption("auth");
  await expect(page.getByText("No events match.")).toBeVisible();
  await expect(page).toHaveURL(/action=auth/);
  await page.getByTestId("audit-family").selectOption("token");
  await expect(rows).toHaveCount(4);
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByLabel("Search the audit log")).toHaveValue(marker.toUpperCase());
  await expect(page.getByTestId("audit-family")).toHaveValue("token");
  await expect(page.getByTestId("audit-events").locator("tbody tr")).toHaveCount(4);

  // A time range in the past holds none of it.
  await page.getByTestId("audit-until").fill("2001-01-01");
  await page.getByTestId("audit-until").dispatchEvent("change");
  await expect(page.getByText("No events match.")).toBeVisible();
  await expect(page).toHaveURL(/until=2001-01-01/);
  expect(first).toBeGreaterThan(0);

  // Clear search drops the words and keeps the filters.
  await page.getByRole("button", { name: "Clear search" }).click();
  await expect(page.getByLabel("Search the audit log")).toHaveValue("");
  await expect(page.getByLabel("Search the audit log")).toBeFocused();
  await expect(page).not.toHaveURL(/q=/);
  await expect(page).toHaveURL(/until=2001-01-01/);
  await expect(page.getByRole("button", { name: "Clear search" })).toHaveCount(0);
  // And / comes back to the box.
  await page.locator("main h1").click();
  await page.keyboard.press("/");
  await expect(page.getByLabel("Search the audit log")).toBeFocused();
});

test("clicking a token id shows that token's whole story", async ({ page, request }) => {
  const marker = `sty${Date.now()}`;
  const { first, second } = await storyOfOneToken(request, marker);
  await login(page, "admin", ADMIN_PASSWORD, "/go/admin/audit_log");
  const rows = page.getByTestId("audit-events").locator("tbody tr");
  // Typing searches once the page is interactive.
  await page.getByLabel("Search the audit log").fill(marker);
  await expect(page).toHaveURL(new RegExp(`q=${marker}`));
  await expect(rows).toHaveCount(4);
  // The creation event names the first token.
  await rows.last().getByTestId("token-story").click();
  await expect(page.getByTestId("token-story-banner")).toContainText(`token #${first}`);
  await expect(page).toHaveURL(new RegExp(`token=${first}`));
  // Its story: created, then revoked when it was rotated.
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText("token.revoked");
  await expect(rows.nth(0)).toContainText(`Rotated to token ${second}`);
  await expect(rows.nth(1)).toContainText("token.created");
  await page.getByRole("button", { name: "Show all events" }).click();
  await expect(page.getByTestId("token-story-banner")).toHaveCount(0);
});

test("a user sees their own activity, and nobody else's", async ({ page, request }) => {
  const marker = `act${Date.now()}`;
  const { name, password } = await storyOfOneToken(request, marker);
  await storyOfOneToken(request, `${marker}other`);
  await login(page, name, password);
  await page.getByRole("tab", { name: "Activity" }).click();
  const rows = page.getByTestId("audit-events").locator("tbody tr");
  // Sign-in, the four token events and the account's creation.
  await expect(rows).toHaveCount(6);
  await expect(rows.first()).toContainText("auth.signed_in");
  await expect(page.getByTestId("audit-events")).toContainText(`${marker} no longer needed`);
  await expect(page.getByTestId("audit-events")).not.toContainText(`${marker}other`);
});

test("lists longer than a page hydrate, then load more (audit log and admin tokens)", async ({ page, request }) => {
  const marker = `many${Date.now()}`;
  const name = `usr${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const password = `${name}-password`;
  expect(
    (await request.post("/go/api/users", {
      headers: { Accept: V3, Authorization: adminAuth },
      data: { login_name: name, password },
    })).status(),
  ).toBe(200);
  for (let i = 0; i < 52; i++) {
    const t = await request.post("/go/api/current_user/access_tokens", {
      headers: { Accept: V1, Authorization: basic(name, password) },
      data: { description: `${marker} ${i}` },
    });
    expect(t.status()).toBe(200);
  }
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Rendered by the server with a next page, then hydrated: the Load more
  // button must be where the browser expects it.
  await login(page, "admin", ADMIN_PASSWORD, `/go/admin/audit_log?q=${marker}`);
  const events = page.getByTestId("audit-events").locator("tbody tr");
  await expect(events).toHaveCount(50);
  await page.getByRole("button", { name: "Load more" }).click();
  await expect(events).toHaveCount(52);
  await expect(page.getByRole("button", { name: "Load more" })).toHaveCount(0);

  await page.goto(`/go/admin/admin_access_tokens?q=${marker}`);
  await waitForHydration(page);
  const tokens = page.getByTestId("active-tokens").locator("tbody tr");
  await expect(tokens).toHaveCount(50);
  await page.getByRole("button", { name: "Load more" }).click();
  await expect(tokens).toHaveCount(52);
  expect(errors).toEqual([]);
});
