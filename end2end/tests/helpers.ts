import { expect, Page } from "@playwright/test";
import { ADMIN_PASSWORD } from "../playwright.config";

export { ADMIN_PASSWORD };

/** Signs in through the login form and waits until the page has hydrated. */
export async function login(page: Page, user = "admin", password = ADMIN_PASSWORD, path = "/go/access_tokens") {
  await page.goto(path);
  await expect(page).toHaveURL(/\/go\/auth\/login/);
  await page.getByLabel("Username").fill(user);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).not.toHaveURL(/\/go\/auth\/login/);
  await waitForHydration(page);
}

export async function waitForHydration(page: Page) {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}
