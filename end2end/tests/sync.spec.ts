import { test, expect, Browser, Page } from "@playwright/test";
import { adminEmail, chooseFileAt, enrolAt, hydrated, makeLinkAt, seededServer, signInAt } from "./helpers";

// Sync mode on a server of its own: twenty imported users (ten of Acme,
// ten of Beta) and one created by hand. A sync file that leaves out two
// imported users deactivates them (their session ends, they cannot sign
// in), never the hand-made one; undo activates them again; a file that
// leaves out half is refused by the safety valve, which an administrator
// may override and an operator may not; a sync limited to one
// organization leaves the other alone.
const adminPassword = "sync admin secret 7";
const leaverPassword = "leaver's long secret";
const opPassword = "sync operator's secret";
let url = "";
let stop = () => {};

const HEAD = "email,first_name,last_name,organization\n";
const user = (i: number) => `u${String(i).padStart(2, "0")}@example.org`;
const row = (i: number) => `${user(i)},U,${i},${i <= 10 ? "Acme" : "Beta"}\n`;
/** A file listing the users `from`..`to`, except those in `without`. */
const listing = (from: number, to: number, without: number[] = []) => {
  let csv = HEAD;
  for (let i = from; i <= to; i++) if (!without.includes(i)) csv += row(i);
  return csv;
};

test.beforeAll(async ({}, testInfo) => {
  const server = await seededServer(testInfo, "sync-", adminPassword, (_roster, importCsv) => {
    importCsv(listing(1, 20));
  });
  url = server.url;
  stop = server.stop;
});
test.afterAll(() => stop());

const signIn = (page: Page, email: string, password: string) => signInAt(url, page, email, password);

const choose = (page: Page, name: string, csv: string) => chooseFileAt(url, page, name, csv);

async function sync(page: Page, scope = "") {
  if (scope) await page.getByLabel("Only users of the organization").fill(scope);
  await page.getByLabel("Sync: deactivate users missing from this file").check();
  await expect(page.getByTestId("sync-summary")).toBeVisible();
}

async function enrol(page: Page, browser: Browser, email: string, password: string) {
  await makeLinkAt(url, page, email);
  const link = await page.getByTestId("sign-in-link").getAttribute("href");
  await enrolAt(url, browser, link!, password);
}

test.describe.configure({ mode: "serial" });
test.describe("sync imports", () => {
  test("a sync deactivates the imported users missing from the file, never a hand-made one; undo activates them", async ({
    page,
    browser,
  }) => {
    await signIn(page, adminEmail, adminPassword);
    // A hand-made user, never in any file.
    await page.goto(url + "/users/new");
    await hydrated(page);
    await page.getByLabel("Email").fill("hand@example.org");
    await page.getByLabel("First name").fill("Hand");
    await page.getByLabel("Last name").fill("Made");
    await page.getByRole("button", { name: "Next" }).click();
    await expect(page.getByRole("status")).toContainText("Created hand@example.org");
    // The leaver has a password and is signed in elsewhere.
    await enrol(page, browser, user(1), leaverPassword);
    await enrol(page, browser, user(3), opPassword);
    const leaver = await browser.newContext();
    const leaverPage = await leaver.newPage();
    await signInAt(url, leaverPage, user(1), leaverPassword);

    await choose(page, "hr.csv", listing(1, 20, [1, 2]));
    await expect(page.getByTestId("counts")).not.toContainText("Deactivate");
    await sync(page);
    await expect(page.getByTestId("counts")).toContainText("Deactivate 2");
    await expect(page.getByTestId("sync-summary")).toContainText("2 of the 20 active imported users");
    await expect(page.getByTestId("sync-summary")).toContainText("(10%)");
    const table = page.getByRole("table", { name: /Users to deactivate/ });
    await expect(table).toContainText(user(1));
    await expect(table).toContainText(user(2));
    await expect(table).not.toContainText("hand@example.org");
    await expect(table).not.toContainText(adminEmail);
    await expect(table.getByRole("row")).toHaveCount(3); // header + 2

    // Unticked, the import is an ordinary one again.
    await page.getByLabel("Sync: deactivate users missing from this file").uncheck();
    await expect(page.getByRole("table", { name: /Users to deactivate/ })).toHaveCount(0);
    await sync(page);
    await page.getByRole("button", { name: "Next" }).click();
    await expect(page.getByRole("status")).toContainText("2 deactivated");
    await expect(page.getByRole("table", { name: /Deactivated users/ })).toContainText(user(2));

    // The leaver's session has ended, and the password no longer opens it.
    await leaverPage.goto(url + "/profile");
    await expect(leaverPage).toHaveURL(/\/signin/);
    await hydrated(leaverPage);
    await leaverPage.getByLabel("Email").fill(user(1));
    await leaverPage.getByLabel("Password").fill(leaverPassword);
    await leaverPage.getByRole("button", { name: "Sign in" }).click();
    // (An inactive account's right password is answered as a wrong one.)
    await expect(leaverPage.getByRole("alert")).toHaveText("Wrong email or password.");

    // Undo activates exactly them again.
    await page.goto(url + "/users/history");
    await hydrated(page);
    const batch = page.locator('[data-testid^="batch-"]', { hasText: "hr.csv" });
    await expect(batch).toHaveCount(1);
    page.once("dialog", (d) => d.accept());
    await batch.getByRole("button", { name: "Undo" }).click();
    await expect(page.getByRole("status")).toContainText("Undone (batch");
    await signInAt(url, leaverPage, user(1), leaverPassword);
    await leaver.close();
  });

  test("a file missing half of the imported users is refused with the share; an operator cannot override it", async ({
    page,
  }) => {
    await signIn(page, user(3), opPassword);
    await choose(page, "half.csv", listing(1, 10));
    await sync(page);
    await expect(page.getByTestId("counts")).toContainText("Deactivate 10");
    const refusal = page.getByTestId("sync-refusal");
    await expect(refusal).toContainText("This sync would deactivate 10 of 20 users (50%)");
    await expect(refusal).toContainText("at most 10%");
    await expect(page.getByRole("button", { name: "Next" })).toBeDisabled();
    await expect(page.getByRole("button", { name: "Deactivate anyway" })).toHaveCount(0);
  });

  test("a sync limited to one organization leaves the others alone; an administrator may confirm a refused sync", async ({
    page,
  }) => {
    await signIn(page, adminEmail, adminPassword);
    // Beta's file lists three of its ten: the valve refuses 70%.
    await choose(page, "beta.csv", listing(11, 13));
    await sync(page, "beta");
    await expect(page.getByTestId("sync-summary")).toContainText("organization “beta”");
    await expect(page.getByTestId("counts")).toContainText("Deactivate 7");
    const table = page.getByRole("table", { name: /Users to deactivate/ });
    await expect(table).toContainText(user(20));
    await expect(table).not.toContainText(user(1));
    await expect(page.getByTestId("sync-refusal")).toContainText("(70%)");
    await expect(page.getByRole("button", { name: "Next" })).toBeDisabled();
    await page.getByRole("button", { name: "Deactivate anyway" }).click();
    await expect(page.getByRole("status")).toContainText("7 deactivated");

    // Acme's users are all still active.
    await page.goto(url + "/users?state=inactive");
    await hydrated(page);
    await expect(page.locator("body")).toContainText(user(14));
    await expect(page.locator("body")).not.toContainText(user(1));
  });
});
