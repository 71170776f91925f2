import { test, expect, Page, Browser } from "@playwright/test";
import { adminEmail, enrolAt, hydrated, makeLinkAt, signInAt, seededServer } from "./helpers";

// Trust boundaries, tried as an operator would try them: its own server,
// seeded through the command line with an operator (op@), a self-service
// user who will have a password (pw@) and one who has none yet (new@).
const adminPassword = "trust admin secret 9";
const opPassword = "operator's own long secret";
let url = "";
let stop = () => {};

test.beforeAll(async ({}, testInfo) => {
  const server = await seededServer(testInfo, "trust-", adminPassword, (roster, importCsv) => {
    importCsv("email,first_name,last_name\nop@example.org,Olga,Operator\n");
    roster("options", "set", "import.roles", "self-service");
    importCsv("email,first_name,last_name\npw@example.org,Paula,Password\nnew@example.org,Nina,New\n");
    roster("options", "set", "import.roles", "self-service,operator,approval");
  });
  url = server.url;
  stop = server.stop;
});
test.afterAll(() => stop());

const signIn = (page: Page, email: string, password: string) => signInAt(url, page, email, password);
const makeLink = (page: Page, email: string) => makeLinkAt(url, page, email);
const enrol = (browser: Browser, link: string, password: string) => enrolAt(url, browser, link, password);

test.describe.configure({ mode: "serial" });
test.describe("trust boundaries @release", () => {
  test("an administrator enrols the operator and a user", async ({ page, browser }) => {
    await signIn(page, adminEmail, adminPassword);
    for (const [email, password] of [
      ["op@example.org", opPassword],
      ["pw@example.org", "paula's own long secret"],
    ]) {
      await makeLink(page, email);
      const link = await page.getByTestId("sign-in-link").getAttribute("href");
      expect(link!.startsWith(url + "/link/"), "links start with the server's own address").toBe(true);
      await enrol(browser, link!, password);
    }
  });

  test("an operator gets no sign-in link for an administrator or for a user with a password", async ({ page }) => {
    await signIn(page, "op@example.org", opPassword);
    await makeLink(page, adminEmail);
    await expect(page.getByRole("alert")).toContainText("administrators can only be changed by an administrator");
    await expect(page.getByTestId("sign-in-link")).toHaveCount(0);

    await makeLink(page, "pw@example.org");
    await expect(page.getByRole("alert")).toContainText("only an administrator may do");
    await expect(page.getByTestId("sign-in-link")).toHaveCount(0);

    // Enrolment of a user without a password is the operator's job.
    await makeLink(page, "new@example.org");
    await expect(page.getByTestId("sign-in-link")).toHaveAttribute("href", /\/link\/[0-9a-f]{64}$/);

    // The server function, called directly, refuses too.
    const form = { "content-type": "application/x-www-form-urlencoded" };
    for (const email of [adminEmail, "pw@example.org"]) {
      const r = await page.request.post(url + "/api/make_sign_in_link", {
        headers: form,
        data: `email=${encodeURIComponent(email)}`,
      });
      expect(r.status(), email).toBe(403);
      expect(await r.text()).not.toContain("/link/");
    }
  });

  test("an operator's import that touches the administrator leaves the administrator unchanged", async ({ page }) => {
    await signIn(page, "op@example.org", opPassword);
    await page.goto(url + "/users/import");
    await hydrated(page);
    await page.getByLabel("CSV file").setInputFiles({
      name: "takeover.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(`email,first_name,last_name\n${adminEmail},Mallory,Owned\nfresh@example.org,Fresh,User\n`),
    });
    const counts = page.getByTestId("counts");
    await expect(counts).toContainText("Create 1");
    await expect(counts).toContainText("Invalid 1");
    const invalid = page.getByRole("table", { name: /^Invalid rows/ });
    await expect(invalid).toContainText("administrators can only be changed by an administrator");
    await expect(page.getByRole("button", { name: "Next" })).toBeDisabled();
    await page.getByLabel("Skip invalid rows").check();
    await page.getByRole("button", { name: "Next" }).click();
    await expect(page.getByRole("table", { name: /^Created users/ })).toContainText("fresh@example.org");

    await page.goto(url + "/users/u/" + adminEmail);
    await hydrated(page);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Roster Administrator");
    // An operator does not read an administrator's trail.
    await expect(page.getByTestId("history-hidden")).toBeVisible();
    await expect(page.getByRole("table", { name: "History" })).toHaveCount(0);
  });

  test("an administrator makes links for anyone, a reset included", async ({ page }) => {
    await signIn(page, adminEmail, adminPassword);
    for (const email of ["pw@example.org", "op@example.org", adminEmail]) {
      await makeLink(page, email);
      await expect(page.getByTestId("sign-in-link")).toHaveAttribute("href", /\/link\/[0-9a-f]{64}$/);
    }
  });

  test("Deactivate ends a user's session at once and Activate lets them back; never the administrator", async ({
    page,
    browser,
  }) => {
    const paula = await browser.newContext();
    const other = await paula.newPage();
    await signIn(other, "pw@example.org", "paula's own long secret");

    await signIn(page, "op@example.org", opPassword);
    page.on("dialog", (d) => d.accept());
    await page.goto(url + "/users/u/pw@example.org");
    await hydrated(page);
    await page.getByRole("button", { name: "Deactivate" }).click();
    await expect(page.getByRole("table", { name: "User" })).toContainText("Inactive");
    await expect(page.getByRole("button", { name: "Activate" })).toBeVisible();

    // Paula's open session ends at her next request, and she cannot sign in.
    await other.goto(url + "/profile");
    await expect(other).toHaveURL(url + "/signin");
    await hydrated(other);
    await other.getByLabel("Email").fill("pw@example.org");
    await other.getByLabel("Password").fill("paula's own long secret");
    await other.getByRole("button", { name: "Sign in" }).click();
    await expect(other.getByRole("alert")).toHaveText("Wrong email or password.");

    await page.getByRole("button", { name: "Activate" }).click();
    await expect(page.getByRole("table", { name: "User" })).toContainText("Active");
    // The History table has it all, newest first, with who did it.
    const history = page.getByRole("table", { name: "History" });
    await expect(history.locator("tbody tr").nth(0)).toContainText("Activation");
    await expect(history.locator("tbody tr").nth(0)).toContainText("op@example.org");
    // Her refused sign-in while inactive is in it too, with her address.
    await expect(history.locator("tbody tr").nth(1)).toContainText("Sign-in failed");
    await expect(history.locator("tbody tr").nth(2)).toContainText("Deactivation");
    await expect(history).toContainText("Import");
    await expect(history).toContainText("end_state: Active → Inactive");
    await signIn(other, "pw@example.org", "paula's own long secret");
    await paula.close();

    // The operator cannot deactivate the administrator.
    await page.goto(url + "/users/u/" + adminEmail);
    await hydrated(page);
    await page.getByRole("button", { name: "Deactivate" }).click();
    await expect(page.getByRole("alert")).toContainText("administrators can only be changed by an administrator");
    await expect(page.getByRole("table", { name: "User" })).toContainText("Active");
  });

  test("security headers are on every answer and the app hydrates under the CSP", async ({ page }) => {
    const violations: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") violations.push(m.text());
    });
    await signIn(page, adminEmail, adminPassword);
    const response = await page.goto(url + "/users/history");
    await hydrated(page);
    const h = response!.headers();
    const csp = h["content-security-policy"];
    expect(csp).toMatch(/script-src 'self' 'nonce-[0-9a-f]+' 'wasm-unsafe-eval'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    expect(h["x-frame-options"]).toBe("DENY");
    expect(h["x-content-type-options"]).toBe("nosniff");
    expect(h["referrer-policy"]).toBe("no-referrer");
    expect(h["cache-control"]).toBe("no-store");
    // A fresh nonce per page, and it is the one on the page's scripts.
    const nonce = csp.match(/'nonce-([0-9a-f]+)'/)![1];
    const again = (await page.request.get(url + "/users/history")).headers()["content-security-policy"];
    expect(again).not.toBe(csp);
    expect(await page.locator(`script[nonce]`).count()).toBeGreaterThan(0);
    // (The browser hides a script's nonce attribute from the DOM; its
    // property keeps it.)
    const nonces = await page.locator("script").evaluateAll((s) => s.map((e) => (e as HTMLScriptElement).nonce));
    expect(nonces.filter((n) => n !== "").every((n) => n === nonce)).toBe(true);

    // The page's data is in the server-rendered HTML, before any script
    // runs: the operator's import is a row of the history table.
    const html = await (await page.request.get(url + "/users/history")).text();
    expect(html).toMatch(/<tr data-testid="batch-\d+"/);
    expect(html).toContain("takeover.csv");

    // The hydrated page works: Undo buttons answer, Quick search runs.
    await page.getByLabel("Quick search").selectOption("User");
    await page.getByLabel("Search users").fill("fresh");
    await expect(page.getByRole("link", { name: /fresh@example.org/ })).toBeVisible();

    // Server-function answers, downloads and the 404 page are not cached
    // and carry a policy; built assets may be cached.
    const api = await page.request.post(url + "/api/who_am_i", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(api.headers()["cache-control"]).toBe("no-store");
    expect(api.headers()["content-security-policy"]).toContain("default-src 'none'");
    const template = await page.request.get(url + "/template.csv");
    expect(template.headers()["cache-control"]).toBe("no-store");
    expect(template.headers()["x-content-type-options"]).toBe("nosniff");
    const asset = await page.request.get(url + "/pkg/roster.js");
    expect(asset.status()).toBe(200);
    expect(asset.headers()["cache-control"] ?? "").not.toContain("no-store");
    expect(violations.filter((v) => /Content Security Policy|Refused to/i.test(v))).toEqual([]);
  });
});
