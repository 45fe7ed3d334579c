import { test, expect, APIRequestContext } from "@playwright/test";
import { login, ADMIN_PASSWORD } from "./helpers";

const V1 = "application/vnd.go.cd.v1+json";
const V3 = "application/vnd.go.cd.v3+json";
const adminAuth = "Basic " + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString("base64");

async function newUser(request: APIRequestContext, prefix: string) {
  const name = `${prefix}${Date.now()}`;
  const res = await request.post("/go/api/users", {
    headers: { Accept: V3, Authorization: adminAuth },
    data: { login_name: name, password: `${name}-password` },
  });
  expect(res.status()).toBe(200);
  return { name, password: `${name}-password` };
}

test("a token generated with the 7-day preset says when it expires and is named in the banner", async ({ page, request }) => {
  const user = await newUser(request, "expiring");
  await login(page, user.name, user.password);
  await page.getByRole("button", { name: "Generate Token" }).click();
  const dialog = page.getByRole("dialog", { name: "Create Access Token" });
  await dialog.getByPlaceholder("What's this token for?").fill("weekly job");
  await expect(dialog.getByLabel("Expiration")).toHaveValue("30");
  await dialog.getByLabel("Expiration").selectOption("7");
  await dialog.getByRole("button", { name: "Generate" }).click();
  await expect(dialog.getByTestId("new-token")).toHaveValue(/^tgp_/);
  await dialog.getByRole("button", { name: "Close", exact: true }).click();
  const row = page.getByTestId("active-tokens").getByRole("row", { name: /weekly job/ });
  await expect(row.getByTestId("expiry")).toHaveText("Expires in 7 days");
  await expect(page.getByTestId("expiring-banner")).toContainText("weekly job");
});

test("an expired token moves to the Expired tab", async ({ page, request }) => {
  const user = await newUser(request, "lapsed");
  const auth = "Basic " + Buffer.from(`${user.name}:${user.password}`).toString("base64");
  const expires = new Date(Date.now() + 3000).toISOString().replace(/\.\d+Z$/, "Z");
  const res = await request.post("/go/api/current_user/access_tokens", {
    headers: { Accept: V1, Authorization: auth },
    data: { description: "short lived", expires_at: expires },
  });
  expect(res.status()).toBe(200);
  await page.waitForTimeout(4000);
  await login(page, user.name, user.password);
  await expect(page.getByRole("tab", { name: /Expired Tokens/ })).toContainText("1");
  await page.getByRole("tab", { name: /Expired Tokens/ }).click();
  const row = page.getByTestId("expired-tokens").getByRole("row", { name: /short lived/ });
  await expect(row.getByTestId("expiry")).toContainText(/^Expired .* ago$/);
  await expect(page.getByRole("tab", { name: /Active Tokens/ })).toContainText("0");
});

test("Regenerate shows a new token once and retires the old one", async ({ page, request }) => {
  const user = await newUser(request, "rotator");
  await login(page, user.name, user.password);
  await page.getByRole("button", { name: "Generate Token" }).click();
  let dialog = page.getByRole("dialog", { name: "Create Access Token" });
  await dialog.getByPlaceholder("What's this token for?").fill("nightly sync");
  await dialog.getByRole("button", { name: "Generate" }).click();
  const old = await dialog.getByTestId("new-token").inputValue();
  await dialog.getByRole("button", { name: "Close", exact: true }).click();

  const row = page.getByTestId("active-tokens").getByRole("row", { name: /nightly sync/ });
  await row.getByRole("button", { name: "Regenerate" }).click();
  dialog = page.getByRole("dialog", { name: "Regenerate Access Token" });
  await dialog.getByRole("button", { name: "Regenerate" }).click();
  const fresh = await dialog.getByTestId("new-token").inputValue();
  expect(fresh).toMatch(/^tgp_/);
  expect(fresh).not.toBe(old);
  await dialog.getByRole("button", { name: "Close", exact: true }).click();

  const use = (token: string) =>
    request.get("/go/api/current_user", { headers: { Accept: V1, Authorization: `Bearer ${token}` } });
  expect((await use(old)).status()).toBe(401);
  expect((await use(fresh)).status()).toBe(200);
  await page.getByRole("tab", { name: /Revoked Tokens/ }).click();
  await expect(page.getByTestId("revoked-tokens").getByRole("row", { name: /nightly sync/ })).toContainText(
    /Rotated to token \d+/,
  );
});

test("the allowed networks field refuses an invalid entry as you type", async ({ page, request }) => {
  const user = await newUser(request, "fenced");
  await login(page, user.name, user.password);
  await page.getByRole("button", { name: "Generate Token" }).click();
  const dialog = page.getByRole("dialog", { name: "Create Access Token" });
  await dialog.getByPlaceholder("What's this token for?").fill("office only");
  const field = dialog.getByLabel("Allowed networks (optional)");
  await field.fill("10.0.0.0/8, 10.0.0.0/33");
  await expect(dialog.getByTestId("networks-error")).toContainText("10.0.0.0/33");
  await expect(dialog.getByRole("button", { name: "Generate" })).toBeDisabled();
  await field.fill("10.0.0.0/8, 2001:db8::/32");
  await expect(dialog.getByTestId("networks-error")).toHaveCount(0);
  await dialog.getByRole("button", { name: "Generate" }).click();
  await expect(dialog.getByTestId("new-token")).toHaveValue(/^tgp_/);
  await dialog.getByRole("button", { name: "Close", exact: true }).click();
  const row = page.getByTestId("active-tokens").getByRole("row", { name: /office only/ });
  await expect(row.getByTestId("allowlisted")).toBeVisible();
});
