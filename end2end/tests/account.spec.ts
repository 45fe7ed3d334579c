import { test, expect } from "@playwright/test";
import { login, ADMIN_PASSWORD } from "./helpers";

const V3 = "application/vnd.go.cd.v3+json";
const basic = (u: string, p: string) => "Basic " + Buffer.from(`${u}:${p}`).toString("base64");

test("a user changes their password from the user menu, with a clear error for a wrong one", async ({ page, request }) => {
  const name = `pw${Date.now()}`;
  const res = await request.post("/go/api/users", {
    headers: { Accept: V3, Authorization: basic("admin", ADMIN_PASSWORD) },
    data: { login_name: name, password: `${name}-old-password` },
  });
  expect(res.status()).toBe(200);
  await login(page, name, `${name}-old-password`);
  const userMenu = page.getByTestId("user-menu");
  await userMenu.getByRole("button", { name }).hover();
  await userMenu.getByRole("link", { name: "Change password" }).click();
  await expect(page.getByRole("heading", { name: "Change password" })).toBeVisible();

  await page.getByLabel("Current password").fill("not-my-password");
  await page.getByLabel("New password", { exact: true }).fill(`${name}-new-password`);
  await page.getByLabel("Confirm new password").fill(`${name}-new-pass`);
  await expect(page.getByText("The new passwords do not match.")).toBeVisible();
  await page.getByLabel("Confirm new password").fill(`${name}-new-password`);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("The current password is not correct.")).toBeVisible();

  await page.getByLabel("Current password").fill(`${name}-old-password`);
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("Your password was changed.")).toBeVisible();
  const me = await request.get("/go/api/current_user", {
    headers: { Accept: "application/vnd.go.cd.v1+json", Authorization: basic(name, `${name}-new-password`) },
  });
  expect(me.status()).toBe(200);
});

test("the admin searches users as they type and resets a password", async ({ page, request }) => {
  const name = `rst${Date.now()}`;
  const res = await request.post("/go/api/users", {
    headers: { Accept: V3, Authorization: basic("admin", ADMIN_PASSWORD) },
    data: { login_name: name, password: `${name}-old-password` },
  });
  expect(res.status()).toBe(200);
  await login(page, "admin", ADMIN_PASSWORD, "/go/admin/users");
  const rows = page.getByTestId("users").locator("tbody tr:visible");
  await page.getByLabel("Search users").fill(name.toUpperCase());
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(name);
  await page.getByLabel("Search users").fill(`${name}-nobody`);
  await expect(page.getByText("No users match your search.")).toBeVisible();
  await page.getByLabel("Search users").fill(name);
  await rows.first().getByRole("button", { name: "Reset password" }).click();
  await page.getByLabel("New password").fill(`${name}-reset-password`);
  await page.getByRole("dialog").getByRole("button", { name: "Reset password" }).click();
  await expect(page.getByText(`The password of '${name}' was reset`)).toBeVisible();
  const me = await request.get("/go/api/current_user", {
    headers: { Accept: "application/vnd.go.cd.v1+json", Authorization: basic(name, `${name}-reset-password`) },
  });
  expect(me.status()).toBe(200);
});
