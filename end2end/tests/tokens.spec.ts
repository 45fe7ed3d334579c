import { test, expect, APIRequestContext, Page } from "@playwright/test";
import { login, ADMIN_PASSWORD } from "./helpers";

const V1 = "application/vnd.go.cd.v1+json";
const V3 = "application/vnd.go.cd.v3+json";
const adminAuth = "Basic " + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64");

/** A fresh user for each test, so tests never see each other's tokens. */
async function freshUser(request: APIRequestContext, prefix: string) {
  const name = `${prefix}${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const password = `${name}-password`;
  const res = await request.post("/go/api/users", {
    headers: { Accept: V3, Authorization: adminAuth },
    data: { login_name: name, password },
  });
  expect(res.status()).toBe(200);
  return { name, password };
}

/** Calls the API from the page with only the token: no cookies. */
async function callWithToken(page: Page, token: string) {
  return page.evaluate(async ([t, accept]) => {
    const r = await fetch("/go/api/current_user", {
      headers: { Authorization: `Bearer ${t}`, Accept: accept },
      credentials: "omit",
    });
    return { status: r.status, body: await r.json() };
  }, [token, V1]);
}

test("generate, copy and use a token, then revoke it and see it refused", async ({ page, context, request }) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  const user = await freshUser(request, "gen");
  await login(page, user.name, user.password);

  await page.getByRole("button", { name: "Generate Token" }).click();
  const dialog = page.getByRole("dialog", { name: "Create Access Token" });
  await expect(dialog).toBeVisible();
  await dialog.getByPlaceholder("What's this token for?").fill("e2e deploy bot");
  await dialog.getByRole("button", { name: "Generate" }).click();

  const tokenField = dialog.getByTestId("new-token");
  await expect(tokenField).toHaveValue(/^tgp_[A-Za-z0-9]{36}$/);
  const token = await tokenField.inputValue();
  await expect(dialog.getByText("It will not be shown again.")).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "Access token was successfully created." })).toBeVisible();

  await dialog.getByRole("button", { name: "Copy" }).click();
  await expect(dialog.getByRole("button", { name: "Copied!" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);

  // The new token is already listed, without a reload.
  const active = page.getByTestId("active-tokens");
  await expect(active.getByRole("row", { name: /e2e deploy bot/ })).toBeVisible();
  await dialog.getByRole("button", { name: "Close", exact: true }).click();
  await expect(dialog).toBeHidden();
  const row = active.getByRole("row", { name: /e2e deploy bot/ });
  await expect(row).toContainText("Never");

  const ok = await callWithToken(page, token);
  expect(ok.status).toBe(200);
  expect(ok.body.login_name).toBe(user.name);

  await row.getByRole("button", { name: "Revoke" }).click();
  const revoke = page.getByRole("dialog", { name: "Revoke Token" });
  await expect(revoke.getByText("Are you sure you want to revoke this token?")).toBeVisible();
  await revoke.getByPlaceholder("Why do you want to revoke this token?").fill("rotating <b>keys</b>");
  await revoke.getByRole("button", { name: "Revoke token" }).click();
  await expect(revoke).toBeHidden();
  await expect(page.getByRole("status").filter({ hasText: "Access token was successfully revoked." })).toBeVisible();
  await expect(page.getByText("You don't have any active tokens.")).toBeVisible();

  await page.getByRole("tab", { name: /Revoked Tokens/ }).click();
  const revokedRow = page.getByTestId("revoked-tokens").getByRole("row", { name: /e2e deploy bot/ });
  await expect(revokedRow).toContainText("You");
  // Shown as text, never as markup.
  await expect(revokedRow).toContainText("rotating <b>keys</b>");

  const refused = await callWithToken(page, token);
  expect(refused.status).toBe(401);
  expect(refused.body.message).toContain("Access token was revoked at:");
});

test("tabs, empty states and dialog errors", async ({ page, request }) => {
  const user = await freshUser(request, "tabs");
  await login(page, user.name, user.password);

  await expect(page.getByText("You don't have any active tokens. Click on 'Generate Token' button to create a new token.")).toBeVisible();
  await page.getByRole("tab", { name: /Revoked Tokens/ }).click();
  await expect(page.getByText("You don't have any revoked tokens.")).toBeVisible();
  await page.getByRole("tab", { name: /Active Tokens/ }).click();

  // A blank description is refused by the server; the dialog says why and keeps its state.
  await page.getByRole("button", { name: "Generate Token" }).click();
  const dialog = page.getByRole("dialog", { name: "Create Access Token" });
  await dialog.getByPlaceholder("What's this token for?").fill("   ");
  await dialog.getByRole("button", { name: "Generate" }).click();
  await expect(dialog.getByRole("alert")).toHaveText("Description must not be blank");

  // Clicking outside does not close the dialog.
  await page.mouse.click(5, 300);
  await expect(dialog).toBeVisible();
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText("You don't have any active tokens.")).toBeVisible();

  // Newest first.
  for (const d of ["first token", "second token"]) {
    await page.getByRole("button", { name: "Generate Token" }).click();
    await dialog.getByPlaceholder("What's this token for?").fill(d);
    await dialog.getByRole("button", { name: "Generate" }).click();
    await expect(dialog.getByTestId("new-token")).toHaveValue(/^tgp_/);
    await dialog.getByRole("button", { name: "Close", exact: true }).click();
  }
  const rows = page.getByTestId("active-tokens").locator("tbody tr");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText("second token");
  await expect(rows.nth(1)).toContainText("first token");
  await expect(page.getByRole("tab", { name: /Active Tokens/ })).toContainText("2");
});
