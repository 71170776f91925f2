import { Browser, expect, Page, TestInfo } from "@playwright/test";
import { execFileSync, spawn } from "node:child_process";
import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const adminEmail = "admin@localhost";
export const adminPassword = "e2e admin password 42";

/** Waits until the wasm bundle has hydrated the page (App sets the marker). */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
}

export async function signIn(page: Page, email = adminEmail, password = adminPassword) {
  await page.goto("/signin");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

export async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin$/);
}

/** Signs in and waits for the start page. */
export async function signedIn(page: Page, email = adminEmail, password = adminPassword) {
  await signIn(page, email, password);
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
}

/**
 * Starts a roster server of a test's own (on `addr`, e.g. 127.0.0.1:0), on
 * the redb store in `data`, or on the store `storeArgs` name (e.g.
 * `["--database", url]`; `data` then only names its log file).
 */
export function startRoster(
  data: string,
  addr: string,
  extraEnv: Record<string, string> = {},
  storeArgs: string[] = ["--data", data],
) {
  const root = resolve(__dirname, "../..");
  const env: NodeJS.ProcessEnv = { ...process.env, LEPTOS_SITE_ROOT: "target/site", RUST_LOG: "warn", ...extraEnv };
  if (!("ROSTER_ADMIN_PASSWORD" in extraEnv)) delete env.ROSTER_ADMIN_PASSWORD;
  const child = spawn("./target/debug/roster", [...storeArgs, "--addr", addr, "serve"], { cwd: root, env });
  // Kept beside the data folder: the global teardown fails the run when
  // any server logged a panic.
  child.stderr.on("data", (d) => appendFileSync(`${data}.log`, d));
  let out = "";
  const listening = new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`roster did not start: ${out}`)), 20_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
  });
  return { child, listening, output: () => out };
}

/** A fresh data folder inside the run's temporary folder (removed at the end). */
export function tempData(prefix: string): string {
  return mkdtempSync(join(process.env.ROSTER_E2E_TMP ?? tmpdir(), prefix));
}

/** Signs in on a test's own server (`url`) and waits for the header. */
export async function signInAt(url: string, page: Page, email: string, password: string) {
  await page.goto(url + "/signin");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByTestId("signed-in-as")).toHaveText(email);
  await hydrated(page);
}

/** Chooses a CSV file on a test's own server's import page and waits for the preview's counts. */
export async function chooseFileAt(url: string, page: Page, name: string, csv: string) {
  await page.goto(url + "/users/import");
  await hydrated(page);
  await page.getByLabel("CSV file").setInputFiles({ name, mimeType: "text/csv", buffer: Buffer.from(csv) });
  await expect(page.getByTestId("counts")).toBeVisible();
}

/** Asks for a one-time sign-in link on the Users page. */
export async function makeLinkAt(url: string, page: Page, email: string) {
  await page.goto(url + "/users");
  await hydrated(page);
  await page.getByLabel("User email").fill(email);
  await page.getByRole("button", { name: "Make sign-in link" }).click();
}

/** Sets a user's password through a link, in a browser context of its own. */
export async function enrolAt(url: string, browser: Browser, link: string, password: string) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(link);
  await hydrated(page);
  await page.getByLabel("New password").fill(password);
  await page.getByLabel("Repeat password").fill(password);
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page).toHaveURL(url + "/");
  await context.close();
}

/**
 * A server of a spec's own: a fresh data folder seeded through the command
 * line (`seed` gets `roster(...args)` and `importCsv(text)`), then served
 * with the project's site (debug or release wasm).
 */
export async function seededServer(
  testInfo: TestInfo,
  prefix: string,
  adminPassword: string,
  seed: (roster: (...args: string[]) => string, importCsv: (csv: string) => void) => void,
) {
  const site = testInfo.project.name === "release" ? "target/site-release" : "target/site";
  const data = tempData(prefix);
  // What the command printed (stdout), for seeds that need it (a token).
  const roster = (...args: string[]) =>
    execFileSync("./target/debug/roster", ["--data", data, ...args], { cwd: resolve(__dirname, "../..") }).toString();
  const file = `${data}.seed.csv`;
  seed(roster, (csv) => {
    writeFileSync(file, csv);
    roster("import", file);
  });
  const server = startRoster(data, "127.0.0.1:0", { ROSTER_ADMIN_PASSWORD: adminPassword, LEPTOS_SITE_ROOT: site });
  return { url: await server.listening, stop: () => server.child.kill() };
}
