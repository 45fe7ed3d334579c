import { expect, Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { ADMIN_PASSWORD } from "../playwright.config";

export { ADMIN_PASSWORD };

/** Signs in through the login form and waits until the page has hydrated. */
export async function login(page: Page, user = "admin", password = ADMIN_PASSWORD, path = "/go/access_tokens") {
  // A WASM panic leaves the page dead: say so in the test's output.
  page.on("console", (m) => {
    if (m.type() === "error" && m.text().includes("panicked")) console.log(`PANIC on ${page.url()}: ${m.text().slice(0, 500)}`);
  });
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

/**
 * Runs axe-core on the page as it is now and fails on any serious or critical
 * violation, listing each rule with the elements it found.
 */
export async function expectAccessible(page: Page, what: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map(
      (v) =>
        `${v.id} (${v.impact}): ${v.help}\n` +
        v.nodes
          .slice(0, 6)
          .map((n) => `    ${n.target.join(" ")}: ${n.failureSummary?.replace(/\s+/g, " ")}`)
          .join("\n"),
    );
  expect(bad, `axe on ${what}`).toEqual([]);
}

/** No sideways scrolling: the document is no wider than the viewport. */
export async function expectNoSidewaysScroll(page: Page, what: string) {
  const { scroll, viewport } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
  }));
  expect(scroll, `${what} is ${scroll}px wide in a ${viewport}px viewport`).toBeLessThanOrEqual(viewport);
}
