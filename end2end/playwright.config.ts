import { defineConfig } from "@playwright/test";

// The release binary under test: `make e2e` passes its path.
const bin = process.env.TOLLGATE_BIN ?? "../target/release/tollgate";
const port = Number(process.env.TOLLGATE_E2E_PORT ?? 18153);
export const ADMIN_PASSWORD = "e2e-admin-password";

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  projects: [
    { name: "chromium", use: { browserName: "chromium" }, testIgnore: /phone\.spec\.ts/ },
    // The main journeys again on a phone (390 px wide, touch), and the
    // phone-only checks; the rest is not run twice, to keep the suite short.
    {
      name: "phone",
      use: { browserName: "chromium", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
      testMatch: /(login|tokens|phone)\.spec\.ts/,
    },
  ],
  webServer: {
    // A fresh database for every run.
    command: `rm -rf .tmp && mkdir -p .tmp && exec "${bin}" serve --addr 127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/go/auth/login`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      DATABASE_URL: "sqlite://.tmp/e2e.db",
      TOLLGATE_ADMIN_PASSWORD: ADMIN_PASSWORD,
      TOLLGATE_LOG: "info",
    },
  },
});
