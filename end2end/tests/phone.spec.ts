import { test, expect } from "@playwright/test";
import { login, waitForHydration, expectNoSidewaysScroll, expectAccessible, ADMIN_PASSWORD } from "./helpers";

// Runs in the "phone" project only (390 x 844, touch): see playwright.config.ts.

const V1 = "application/vnd.go.cd.v1+json";
const adminAuth = "Basic " + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64");

test("no page scrolls sideways on a phone, and tables are labelled cards", async ({ page, request }) => {
  expect(page.viewportSize()?.width).toBe(390);
  // Long words are the usual culprits: a description with no space to break at.
  const marker = `phone${Date.now()}`;
  const long = `${marker}-${"x".repeat(120)}`;
  for (const description of [long, `${marker} short`]) {
    const res = await request.post("/go/api/current_user/access_tokens", {
      headers: { Accept: V1, Authorization: adminAuth },
      data: { description },
    });
    expect(res.status()).toBe(200);
  }

  await page.goto("/go/auth/login");
  await expectNoSidewaysScroll(page, "the login page");
  await login(page);
  await expectNoSidewaysScroll(page, "Personal Access Tokens");
  // A row is a card: its cells stack, each labelled by its column.
  const row = page.getByTestId("active-tokens").getByRole("row", { name: new RegExp(`${marker} short`) });
  await expect(row).toBeVisible();
  const label = await row.locator('td[data-label="Created At"]').evaluate((td) => getComputedStyle(td, "::before").content);
  expect(label).toBe('"Created At"');
  const [first, second] = await row.locator("td").evaluateAll((tds) => tds.slice(0, 2).map((td) => td.getBoundingClientRect().top));
  expect(second).toBeGreaterThan(first);
  for (const tab of [/Expired Tokens/, /Revoked Tokens/, /Activity/]) {
    await page.getByRole("tab", { name: tab }).click();
    await expect(page.getByRole("tabpanel").last()).toBeVisible();
    await expectNoSidewaysScroll(page, `Personal Access Tokens, ${tab.source}`);
  }
  await expect(page.getByTestId("audit-events")).toBeVisible();
  await expectNoSidewaysScroll(page, "the Activity tab");

  for (const [path, what] of [
    [`/go/admin/admin_access_tokens?q=${marker}`, "Access Tokens Management"],
    ["/go/admin/admin_access_tokens?tab=revoked", "Access Tokens Management, revoked"],
    ["/go/admin/users", "Users"],
    ["/go/account/password", "Change password"],
    ["/go/admin/scopes", "Scopes"],
    ["/go/admin/audit_log", "Audit Log"],
    [`/go/admin/audit_log?q=${marker}`, "Audit Log with a search"],
  ]) {
    await page.goto(path);
    await waitForHydration(page);
    await expect(page.locator("main h1")).toBeVisible();
    await expect(page.locator("main table, main .empty, main form").filter({ visible: true }).first()).toBeVisible();
    await expectNoSidewaysScroll(page, what);
    await expectAccessible(page, `${what} on a phone`);
  }
});

test("the header menus open with a tap on a phone", async ({ page }) => {
  await login(page);
  await expectNoSidewaysScroll(page, "the page with its header");
  await page.getByTestId("admin-menu").getByRole("button").tap();
  const link = page.getByRole("link", { name: "Audit Log" });
  await expect(link).toBeVisible();
  await expectNoSidewaysScroll(page, "the open Admin menu");
  const box = await page.locator("#admin-menu-items").boundingBox();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(390);
  await link.tap();
  await expect(page).toHaveURL(/\/go\/admin\/audit_log$/);
  await expect(page.getByRole("heading", { name: "Audit Log" })).toBeVisible();
});

test("a generated token's dialog fits a phone's screen", async ({ page }) => {
  await login(page);
  await page.getByRole("button", { name: "Generate Token" }).tap();
  const dialog = page.getByRole("dialog", { name: "Create Access Token" });
  await expect(dialog.getByLabel("Expiration")).toBeVisible();
  const fits = async (what: string) => {
    const box = (await dialog.boundingBox())!;
    expect(box.x, what).toBeGreaterThanOrEqual(0);
    expect(box.y, what).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, what).toBeLessThanOrEqual(390);
    expect(box.y + box.height, what).toBeLessThanOrEqual(844);
    await expectNoSidewaysScroll(page, what);
  };
  await fits("the Create Access Token dialog");
  await dialog.getByLabel("Description").fill("from my phone");
  await dialog.getByRole("button", { name: "Generate" }).tap();
  const token = dialog.getByTestId("new-token");
  await expect(token).toHaveValue(/^tgp_/);
  await fits("the new token's dialog");
  // The token and its Copy button are on screen, side by side or stacked.
  for (const el of [token, dialog.getByRole("button", { name: "Copy" })]) {
    const box = (await el.boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
  }
  await dialog.getByRole("button", { name: "Close", exact: true }).tap();
  await expect(dialog).toBeHidden();
});
