import { test, expect } from "@playwright/test";
import { login, ADMIN_PASSWORD } from "./helpers";

const V3 = "application/vnd.go.cd.v3+json";
const adminAuth = "Basic " + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64");

test("the admin adds a scope, a user generates a read-only token for it and sees its chips", async ({ page, browser, request }) => {
  const scope = `grafana${Date.now()}`;
  await login(page, "admin", ADMIN_PASSWORD, "/go/admin/scopes");
  await page.getByLabel("Name").fill(scope);
  await page.getByLabel("Description").fill("Grafana dashboards");
  await page.getByRole("button", { name: "Add Scope" }).click();
  await expect(page.getByRole("status").filter({ hasText: `Scope '${scope}' was added.` })).toBeVisible();
  await expect(page.locator(`tr[data-scope="${scope}"]`)).toContainText("Grafana dashboards");
  // A built-in name is refused with a clear message.
  await page.getByLabel("Name").fill("api");
  await page.getByLabel("Description").fill("mine");
  await page.getByRole("button", { name: "Add Scope" }).click();
  await expect(page.getByRole("alert")).toContainText("built-in scope");

  const name = `scoped${Date.now()}`;
  const created = await request.post("/go/api/users", {
    headers: { Accept: V3, Authorization: adminAuth },
    data: { login_name: name, password: `${name}-password` },
  });
  expect(created.status()).toBe(200);
  const ctx = await browser.newContext();
  const p = await ctx.newPage();
  await login(p, name, `${name}-password`);
  await p.getByRole("button", { name: "Generate Token" }).click();
  const dialog = p.getByRole("dialog", { name: "Create Access Token" });
  await dialog.getByPlaceholder("What's this token for?").fill("dashboards");
  await expect(dialog.getByRole("checkbox", { name: /API: tollgate/ })).toBeChecked();
  await dialog.getByRole("checkbox", { name: /API: tollgate/ }).uncheck();
  await dialog.locator(`select[data-scope="${scope}"]`).selectOption(`${scope}:read`);
  await dialog.getByRole("button", { name: "Generate" }).click();
  const token = await dialog.getByTestId("new-token").inputValue();
  expect(token).toMatch(/^tgp_/);
  await dialog.getByRole("button", { name: "Close", exact: true }).click();
  const row = p.getByTestId("active-tokens").getByRole("row", { name: /dashboards/ });
  await expect(row.locator(".chip")).toHaveText([`${scope}:read`]);

  // What the proxy is told: reads pass, writes do not, the API is closed.
  const verify = (method: string) =>
    request.get(`/go/auth/verify?scope=${scope}`, {
      headers: { Authorization: `Bearer ${token}`, "X-Forwarded-Method": method },
    });
  expect((await verify("GET")).status()).toBe(200);
  expect((await verify("GET")).headers()["remote-user"]).toBe(name);
  expect((await verify("POST")).status()).toBe(403);
  const api = await request.get("/go/api/current_user", {
    headers: { Accept: "application/vnd.go.cd.v1+json", Authorization: `Bearer ${token}` },
  });
  expect(api.status()).toBe(403);
  await ctx.close();
});
