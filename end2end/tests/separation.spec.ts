import { test, expect, Page } from "@playwright/test";
import { adminEmail, chooseFileAt, enrolAt, hydrated, makeLinkAt, signInAt, seededServer } from "./helpers";

// Separation of duties on a server of its own, tried as one operator
// alone would: a puppet made, enrolled and asked to approve its maker's
// import; an import over a user a person deactivated; and the audit log
// that shows who did what. Imports of more than two users wait for
// approval.
const adminPassword = "separation admin secret 7";
const opPassword = "operator's long secret";
const bossPassword = "approver's long secret";
const puppetPassword = "puppet's long secret";
let url = "";
let stop = () => {};

test.beforeAll(async ({}, testInfo) => {
  const server = await seededServer(testInfo, "separation-", adminPassword, (roster, importCsv) => {
    importCsv(
      "email,first_name,last_name,title\n" +
        "op@example.org,Otto,Sender,\n" +
        "boss@example.org,Bo,Approver,\n" +
        "kept@example.org,Kim,Kept,Engineer\n",
    );
    roster("options", "set", "import.approval_above", "2");
    // A person (the machine owner) deactivates kept@.
    roster("users", "deactivate", "kept@example.org");
  });
  url = server.url;
  stop = server.stop;
});
test.afterAll(() => stop());

const signIn = (page: Page, email: string, password: string) => signInAt(url, page, email, password);

const choose = (page: Page, name: string, csv: string) => chooseFileAt(url, page, name, csv);

async function openRequest(page: Page, file: string) {
  await page.goto(url + "/approvals");
  await hydrated(page);
  await page.getByRole("table", { name: "Waiting for approval" }).getByRole("link", { name: file }).click();
  await hydrated(page);
  await expect(page.getByRole("heading", { name: /Approval request/ })).toBeVisible();
}

test.describe.configure({ mode: "serial" });
test.describe("separation of duties", () => {
  test("the administrator enrols the operator and the approver and changes an option", async ({ page, browser }) => {
    await signIn(page, adminEmail, adminPassword);
    for (const [email, password] of [
      ["op@example.org", opPassword],
      ["boss@example.org", bossPassword],
    ]) {
      await makeLinkAt(url, page, email);
      const link = await page.getByTestId("sign-in-link").getAttribute("href");
      await enrolAt(url, browser, link!, password);
    }
    await page.goto(url + "/admin/options");
    await hydrated(page);
    await page.getByLabel("Counted over (hours)").fill("48");
    const syncMax = page.getByLabel("Deactivate at most (% of the imported users)");
    await expect(syncMax).toHaveValue("10");
    await syncMax.fill("5");
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("status")).toContainText("Options saved.");
    await page.reload();
    await hydrated(page);
    await expect(page.getByLabel("Deactivate at most (% of the imported users)")).toHaveValue("5");
    await expect(page.getByLabel("Counted over (hours)")).toHaveValue("48");
  });

  test("a puppet the operator made and enrolled cannot approve the operator's import", async ({ page, browser }) => {
    await signIn(page, "op@example.org", opPassword);
    await choose(page, "large.csv", "email,first_name,last_name\n" +
      "n1@example.org,N,One\nn2@example.org,N,Two\nn3@example.org,N,Three\n");
    await expect(page.getByTestId("approval-window")).toContainText("above it");
    await page.getByRole("button", { name: "Next" }).click();
    await expect(page.getByRole("status")).toContainText("Sent for approval");

    // The puppet: manual input, a sign-in link (it has no password yet),
    // a password the operator chooses.
    await page.goto(url + "/users/new");
    await hydrated(page);
    await page.getByLabel("Email").fill("puppet@example.org");
    await page.getByLabel("First name").fill("Pup");
    await page.getByLabel("Last name").fill("Pet");
    await page.getByRole("button", { name: "Next" }).click();
    await expect(page.getByRole("status")).toContainText("Created puppet@example.org");
    await makeLinkAt(url, page, "puppet@example.org");
    const link = await page.getByTestId("sign-in-link").getAttribute("href");
    await enrolAt(url, browser, link!, puppetPassword);

    await signIn(page, "puppet@example.org", puppetPassword);
    await openRequest(page, "large.csv");
    await page.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByRole("alert")).toContainText("would not be a second person's decision");
    await page.goto(url + "/users?q=n1");
    await hydrated(page);
    await expect(page.getByRole("table", { name: "Users" })).toContainText("No user matches.");

    // An independent person approves.
    await signIn(page, "boss@example.org", bossPassword);
    await openRequest(page, "large.csv");
    await page.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByRole("status")).toContainText("Approved: written as batch");
    await page.goto(url + "/users/history");
    await hydrated(page);
    await expect(page.getByRole("table", { name: "Imports" }).getByRole("row", { name: /large\.csv/ })).toContainText(
      "sent by op@example.org, approved by boss@example.org",
    );
  });

  test("a person's deactivation (here the command line's) survives an operator's import", async ({ page }) => {
    await signIn(page, "op@example.org", opPassword);
    await choose(page, "kept.csv", "email,first_name,last_name,title\nkept@example.org,Kim,Kept,Director\n");
    const update = page.getByRole("table", { name: /^Users to update/ });
    await expect(update).toContainText("title: Engineer → Director");
    await expect(update).toContainText("stays inactive (deactivated by cli on ");
    await expect(page.getByTestId("approval-window")).toContainText("not above it");
    await page.getByRole("button", { name: "Next" }).click();
    await expect(page.getByRole("table", { name: /^Updated users/ })).toContainText("stays inactive");
    await page.goto(url + "/users?q=kept");
    await hydrated(page);
    const row = page.getByRole("table", { name: "Users" }).getByRole("row", { name: /kept@example.org/ });
    await expect(row).toContainText("Inactive");
    await expect(row).toContainText("Director");
  });

  test("the audit log shows a failed sign-in, the option change and the approval with both names", async ({ page }) => {
    await page.goto(url + "/signin");
    await hydrated(page);
    await page.getByLabel("Email").fill("op@example.org");
    await page.getByLabel("Password").fill("a wrong guess");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toContainText("Wrong email or password.");

    await signIn(page, adminEmail, adminPassword);
    await page.goto(url + "/admin/audit");
    await hydrated(page);
    const log = page.getByRole("table", { name: "Audit log" });
    await expect(log.getByRole("row", { name: /Sign-in failed/ }).first()).toContainText("op@example.org");
    // Newest first: the administrator's change on the page, then the
    // command line's at the start.
    await expect(log.getByRole("row", { name: /Options changed/ }).first()).toContainText(
      "import.approval_window_hours: 24 → 48",
    );
    await expect(log.getByRole("row", { name: /Options changed/ }).first()).toContainText(adminEmail);
    const approved = log.getByRole("row", { name: / Approved / }).first();
    await expect(approved).toContainText("boss@example.org");
    await expect(approved).toContainText("op@example.org");
    await expect(log.getByRole("row", { name: /Sent for approval/ }).first()).toContainText("op@example.org");
  });
});
