import { test, expect, APIRequestContext } from "@playwright/test";
import { login, waitForHydration, ADMIN_PASSWORD } from "./helpers";

const V1 = "application/vnd.go.cd.v1+json";
const V3 = "application/vnd.go.cd.v3+json";
const basic = (u: string, p: string) => "Basic " + Buffer.from(`${u}:${p}`).toString("base64");
const adminAuth = basic("admin", ADMIN_PASSWORD);

async function userWithTokens(request: APIRequestContext, prefix: string, descriptions: string[]) {
  const name = `${prefix}${Date.now()}${Math.floor(Math.random() * 1000)}`;
  const password = `${name}-password`;
  const res = await request.post("/go/api/users", {
    headers: { Accept: V3, Authorization: adminAuth },
    data: { login_name: name, password },
  });
  expect(res.status()).toBe(200);
  const tokens: string[] = [];
  for (const description of descriptions) {
    const t = await request.post("/go/api/current_user/access_tokens", {
      headers: { Accept: V1, Authorization: basic(name, password) },
      data: { description },
    });
    expect(t.status()).toBe(200);
    tokens.push((await t.json()).token);
  }
  return { name, password, tokens };
}

test("the admin searches as they type, on the server, without a reload", async ({ page, request }) => {
  const marker = `srch${Date.now()}`;
  await userWithTokens(request, "searcher", [`${marker} alpha`, `${marker} beta`, `${marker} gamma`]);
  await login(page, "admin", ADMIN_PASSWORD, "/go/admin/admin_access_tokens");
  await expect(page.getByRole("heading", { name: "Access Tokens Management" })).toBeVisible();
  await page.evaluate(() => ((window as any).__sameDocument = true));

  const search = page.getByLabel("Search tokens");
  const rows = page.getByTestId("active-tokens").locator("tbody tr");
  await search.fill(marker.toUpperCase());
  await expect(rows).toHaveCount(3);
  await expect(page).toHaveURL(new RegExp(`q=${marker.toUpperCase()}`));
  await expect(page.getByTestId("active-count")).toHaveText("3");
  await search.fill(`${marker} be`);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(`${marker} beta`);
  // The list narrowed in place: same document, no reload.
  expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);

  // The query lives in the URL: a reload shows the same result.
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByLabel("Search tokens")).toHaveValue(`${marker} be`);
  await expect(page.getByTestId("active-tokens").locator("tbody tr")).toHaveCount(1);

  await page.getByLabel("Search tokens").fill(`${marker} nothing like it`);
  await expect(page.getByText("There are no active tokens matching your search query.")).toBeVisible();
  // Clear search empties the box, keeps focus there and shows every token again.
  await page.getByRole("button", { name: "Clear search" }).click();
  await expect(page.getByLabel("Search tokens")).toHaveValue("");
  await expect(page.getByLabel("Search tokens")).toBeFocused();
  await expect(page).not.toHaveURL(/q=/);
  await expect(page.getByTestId("active-tokens").locator("tbody tr").first()).toBeVisible();
});

test("matches are marked as text, and / jumps to the search box", async ({ page, request }) => {
  const marker = `mrk${Date.now()}`;
  const owner = await userWithTokens(request, `${marker}u`, [`<b>${marker.toUpperCase()}</b> and ${marker}`]);
  await login(page, "admin", ADMIN_PASSWORD, "/go/admin/admin_access_tokens");
  const search = page.getByLabel("Search tokens");
  await expect(search).not.toBeFocused();
  await page.keyboard.press("/");
  await expect(search).toBeFocused();
  // In the box, / is just a character.
  await page.keyboard.type(`${marker}/`);
  await expect(search).toHaveValue(`${marker}/`);
  await search.fill(marker);
  const row = page.getByTestId("active-tokens").getByRole("row", { name: new RegExp(marker) });
  await expect(row).toHaveCount(1);
  // Case-insensitive, in the description (twice) and in the user name; the
  // description's markup stays text.
  await expect(row.locator("td").nth(1).locator("mark")).toHaveText([marker.toUpperCase(), marker]);
  await expect(row.locator("td").nth(1)).toContainText(`<b>${marker.toUpperCase()}</b> and ${marker}`);
  await expect(row.locator("td b")).toHaveCount(0);
  await expect(row.locator("td").first().locator("mark")).toHaveText([marker]);
  await expect(row.locator("td").first()).toContainText(owner.name);
});

test("the admin revokes another user's token and that user sees it revoked", async ({ page, browser, request }) => {
  const marker = `rvk${Date.now()}`;
  const owner = await userWithTokens(request, "owner", [`${marker} deploy key`]);
  await login(page, "admin", ADMIN_PASSWORD, "/go/admin/admin_access_tokens");
  await page.getByLabel("Search tokens").fill(marker);
  const row = page.getByTestId("active-tokens").getByRole("row", { name: new RegExp(marker) });
  await expect(row).toContainText(owner.name);
  await row.getByRole("button", { name: "Revoke" }).click();
  const dialog = page.getByRole("dialog", { name: "Revoke Token" });
  await dialog.getByPlaceholder("Why do you want to revoke this token?").fill("leaked in a log");
  await dialog.getByRole("button", { name: "Revoke token" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Access token was successfully revoked." })).toBeVisible();
  await expect(page.getByText("There are no active tokens matching your search query.")).toBeVisible();
  await page.getByRole("tab", { name: /Revoked Tokens/ }).click();
  await expect(page).toHaveURL(/tab=revoked/);
  await expect(page.getByTestId("revoked-tokens").getByRole("row", { name: new RegExp(marker) })).toContainText("leaked in a log");

  // The owner, in their own browser, sees it revoked by the admin.
  const ownerContext = await browser.newContext();
  const ownerPage = await ownerContext.newPage();
  await login(ownerPage, owner.name, owner.password);
  await ownerPage.getByRole("tab", { name: /Revoked Tokens/ }).click();
  const revoked = ownerPage.getByTestId("revoked-tokens").getByRole("row", { name: new RegExp(marker) });
  await expect(revoked).toContainText("admin");
  await expect(revoked).toContainText("leaked in a log");
  await ownerContext.close();

  const refused = await request.get("/go/api/current_user", {
    headers: { Accept: V1, Authorization: `Bearer ${owner.tokens[0]}` },
  });
  expect(refused.status()).toBe(401);
});

test("the admin deletes a user and the user's token stops working", async ({ page, request }) => {
  const victim = await userWithTokens(request, "leaver", ["leaver's ci"]);
  const works = await request.get("/go/api/current_user", {
    headers: { Accept: V1, Authorization: `Bearer ${victim.tokens[0]}` },
  });
  expect(works.status()).toBe(200);

  await login(page, "admin", ADMIN_PASSWORD, "/go/admin/users");
  const row = page.locator(`tr[data-user="${victim.name}"]`);
  await expect(row).toContainText("Enabled");
  await expect(row.locator("td").nth(5)).toHaveText("1");
  await row.getByRole("button", { name: "Disable" }).click();
  await expect(row).toContainText("Disabled");
  await row.getByRole("button", { name: "Delete" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete User" });
  await expect(dialog).toContainText("revokes their 1 active token for good");
  await dialog.getByRole("button", { name: "Delete user" }).click();
  await expect(page.getByRole("status").filter({ hasText: `User '${victim.name}' was deleted` })).toBeVisible();
  await expect(page.locator(`tr[data-user="${victim.name}"]`)).toHaveCount(0);

  const refused = await request.get("/go/api/current_user", {
    headers: { Accept: V1, Authorization: `Bearer ${victim.tokens[0]}` },
  });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).message).toBe("Invalid Personal Access Token.");
});

test("the admin adds a user from the Users page", async ({ page, browser }) => {
  const name = `added${Date.now()}`;
  await login(page, "admin", ADMIN_PASSWORD, "/go/admin/users");
  await page.getByRole("button", { name: "Add User" }).click();
  const dialog = page.getByRole("dialog", { name: "Add User" });
  await dialog.getByLabel("Login name").fill(name);
  await dialog.getByLabel("Password").fill("short");
  await dialog.getByRole("button", { name: "Add", exact: true }).click();
  await expect(dialog.getByRole("alert")).toContainText("Password must be");
  await dialog.getByLabel("Password").fill(`${name}-password`);
  await dialog.getByRole("button", { name: "Add", exact: true }).click();
  await expect(dialog).toBeHidden();
  await expect(page.locator(`tr[data-user="${name}"]`)).toContainText("Enabled");

  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  await login(p, name, `${name}-password`);
  await expect(p.getByTestId("admin-menu")).toHaveCount(0);
  await ctx.close();
});
