import { test, expect } from "@playwright/test";
import { login, waitForHydration, ADMIN_PASSWORD } from "./helpers";

test("admin signs in, sees the shell, and signs out", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Content-Security-Policy violations and failed loads show up as console errors.
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });

  await login(page);
  await expect(page).toHaveURL(/\/go\/access_tokens$/);
  await expect(page.getByRole("heading", { name: "Personal Access Tokens" })).toBeVisible();

  // The Admin menu, with Security: Access Tokens Management and Users. Menus
  // open with a click or a tap (and, with a mouse, on hover).
  const adminMenu = page.getByTestId("admin-menu");
  await adminMenu.getByRole("button", { name: "Admin" }).click();
  await expect(adminMenu.getByRole("link", { name: "Access Tokens Management" })).toBeVisible();
  await adminMenu.getByRole("link", { name: "Users" }).click();
  await expect(page).toHaveURL(/\/go\/admin\/users$/);
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();

  // The user menu, with Personal Access Tokens and Logout.
  const userMenu = page.getByTestId("user-menu");
  await userMenu.getByRole("button", { name: "admin" }).click();
  await expect(userMenu.getByRole("link", { name: "Personal Access Tokens" })).toBeVisible();
  await userMenu.getByRole("button", { name: "Logout" }).click();
  await expect(page).toHaveURL(/\/go\/auth\/login$/);

  // Signed out for real: pages send us back to the login page.
  await page.goto("/go/access_tokens");
  await expect(page).toHaveURL(/\/go\/auth\/login\?redirect=/);
  expect(errors).toEqual([]);
});

test("a wrong password shows one error that reveals nothing", async ({ page }) => {
  await page.goto("/go/auth/login");
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Invalid username or password.");

  await page.getByLabel("Username").fill("nobody-like-this");
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("Invalid username or password.");
});

test("a visitor is sent to login and brought back afterwards", async ({ page }) => {
  await page.goto("/go/admin/users");
  await expect(page).toHaveURL(/\/go\/auth\/login\?redirect=%2Fgo%2Fadmin%2Fusers/);
  await page.getByLabel("Username").fill("admin");
  await page.getByLabel("Password").fill(ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/go\/admin\/users$/);
  await waitForHydration(page);
});

test("a Bearer header never opens a page", async ({ browser }) => {
  const context = await browser.newContext({
    extraHTTPHeaders: { Authorization: "Bearer tgp_whatever" },
  });
  const page = await context.newPage();
  await page.goto("/go/access_tokens");
  await expect(page).toHaveURL(/\/go\/auth\/login/);
  await context.close();
});
