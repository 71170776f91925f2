import { test, expect, Page, Browser } from "@playwright/test";
import { adminEmail, enrolAt, hydrated, makeLinkAt, signInAt, seededServer } from "./helpers";

// The operator's user management on a server of its own, seeded through
// the command line: an operator (op@), users to find and edit, and one
// inactive user.
const adminPassword = "users admin secret 7";
const opPassword = "operator's users secret";
let url = "";
let stop = () => {};

test.beforeAll(async ({}, testInfo) => {
  const server = await seededServer(testInfo, "users-", adminPassword, (roster, importCsv) => {
    importCsv(
      "email,first_name,last_name,title\n" +
        "op@example.org,Olga,Operator,\n" +
        "ada@example.org,Ada,Lovelace,Engineer\n" +
        "grace@example.org,Grace,Hopper,Admiral\n" +
        "gone@example.org,Gonzo,Gone,\n",
    );
    roster("users", "deactivate", "gone@example.org");
  });
  url = server.url;
  stop = server.stop;
});
test.afterAll(() => stop());

const signIn = (page: Page, email: string, password: string) => signInAt(url, page, email, password);

/** The Users page's own search box (the header's quick search has the same label). */
const searchBox = (page: Page) => page.locator("main").getByLabel("Search users");
const usersTable = (page: Page) => page.getByRole("table", { name: "Users" });

async function openUser(page: Page, email: string) {
  await page.goto(url + "/users/u/" + email);
  await hydrated(page);
}

/** Edit → change fields → Save: the changes are listed before Confirm. */
async function editAndSave(page: Page, fields: Record<string, string>) {
  await page.getByRole("button", { name: "Edit" }).click();
  const form = page.getByRole("form", { name: "Edit user" });
  for (const [label, value] of Object.entries(fields)) {
    await form.getByLabel(label, { exact: true }).fill(value);
  }
  await form.getByRole("button", { name: "Save" }).click();
}

test.describe.configure({ mode: "serial" });
test.describe("users management @release", () => {
  test("the administrator enrols the operator", async ({ page, browser }) => {
    await signIn(page, adminEmail, adminPassword);
    await makeLinkAt(url, page, "op@example.org");
    const link = await page.getByTestId("sign-in-link").getAttribute("href");
    await enrolAt(url, browser, link!, opPassword);
  });

  test("an operator finds a user, edits the title with a preview of the change, and the table shows it", async ({
    page,
  }) => {
    await signIn(page, "op@example.org", opPassword);
    await page.goto(url + "/users");
    await hydrated(page);
    await expect(usersTable(page)).toContainText("grace@example.org");
    await searchBox(page).fill("lovel");
    await expect(usersTable(page).locator("tbody tr")).toHaveCount(1);
    await expect(usersTable(page)).toContainText("ada@example.org");
    await expect(page).toHaveURL(/\/users\?q=lovel$/);
    await usersTable(page).getByRole("link", { name: "ada@example.org" }).click();
    await expect(page).toHaveURL(url + "/users/u/ada@example.org");
    await hydrated(page);

    // An operator has no role controls.
    await page.getByRole("button", { name: "Edit" }).click();
    await expect(page.getByRole("group", { name: "Roles" })).toHaveCount(0);
    await page.getByRole("form", { name: "Edit user" }).getByRole("button", { name: "Cancel" }).click();

    await editAndSave(page, { Title: "Manager" });
    const changes = page.getByRole("list", { name: "Changes" });
    await expect(changes).toHaveText("Title: Engineer → Manager");
    // Nothing is written before Confirm.
    await expect(page.getByRole("table", { name: "User" })).toContainText("Engineer");
    await page.getByRole("button", { name: "Confirm" }).click();
    await expect(page.getByRole("table", { name: "User" })).toContainText("Manager");
    await expect(page.getByRole("form", { name: "Edit user" })).toHaveCount(0);
    const history = page.getByRole("table", { name: "History" });
    await expect(history.locator("tbody tr").nth(0)).toContainText("Edit");
    await expect(history.locator("tbody tr").nth(0)).toContainText("op@example.org");
    await expect(history.locator("tbody tr").nth(0)).toContainText("title: Engineer → Manager");
    await expect(history.locator("tbody tr").nth(1)).toContainText("Import");

    await page.goto(url + "/users?q=ada");
    await hydrated(page);
    await expect(usersTable(page).locator("tbody tr", { hasText: "ada@example.org" })).toContainText("Manager");
  });

  test("a concurrent edit gets the fresh record's diff and writes nothing until confirmed again", async ({
    page,
    browser,
  }) => {
    await signIn(page, "op@example.org", opPassword);
    await openUser(page, "ada@example.org");
    await editAndSave(page, { Department: "Research" });
    await expect(page.getByRole("list", { name: "Changes" })).toHaveText("Department: (blank) → Research");

    // Meanwhile the administrator, in another browser, changes the title.
    const other = await browser.newContext();
    const admin = await other.newPage();
    await signIn(admin, adminEmail, adminPassword);
    await openUser(admin, "ada@example.org");
    await editAndSave(admin, { Title: "Director" });
    await admin.getByRole("button", { name: "Confirm" }).click();
    await expect(admin.getByRole("table", { name: "User" })).toContainText("Director");
    await other.close();

    await page.getByRole("button", { name: "Confirm" }).click();
    await expect(page.getByRole("alert")).toContainText("changed meanwhile: nothing was saved");
    // The edit's form still says Manager: against the fresh record, that
    // is now a change too.
    const changes = page.getByRole("list", { name: "Changes" });
    await expect(changes).toContainText("Title: Director → Manager");
    await expect(changes).toContainText("Department: (blank) → Research");
    await page.getByRole("button", { name: "Confirm" }).click();
    await expect(page.getByRole("table", { name: "User" })).toContainText("Research");
    await expect(page.getByRole("table", { name: "User" })).toContainText("Manager");
  });

  test("an operator cannot edit an administrator; an administrator's role change is recorded", async ({ page }) => {
    await signIn(page, "op@example.org", opPassword);
    await openUser(page, adminEmail);
    await expect(page.getByRole("table", { name: "User" })).toContainText("Admin");
    await expect(page.getByRole("button", { name: "Edit" })).toHaveCount(0);
    await expect(page.getByText("Only an administrator may change this user.")).toBeVisible();

    await signIn(page, adminEmail, adminPassword);
    await openUser(page, "grace@example.org");
    await page.getByRole("button", { name: "Edit" }).click();
    const roles = page.getByRole("group", { name: "Roles" });
    await expect(roles.getByLabel("Approval")).toBeChecked();
    await roles.getByLabel("Approval").uncheck();
    await page.getByRole("form", { name: "Edit user" }).getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("list", { name: "Changes" })).toHaveText(
      "Roles: Self-Service, Operator, Approval → Self-Service, Operator",
    );
    await page.getByRole("button", { name: "Confirm" }).click();
    const history = page.getByRole("table", { name: "History" });
    await expect(history.locator("tbody tr").nth(0)).toContainText("Role change");
    await expect(history.locator("tbody tr").nth(0)).toContainText(adminEmail);

    // The Audit log has it, filtered by action, and exports it.
    await page.getByRole("link", { name: "Audit log" }).click();
    await expect(page).toHaveURL(url + "/admin/audit");
    await hydrated(page);
    const log = page.getByRole("table", { name: "Audit log" });
    await expect(log).toContainText("Deactivation");
    await page.getByLabel("Action").selectOption("Role change");
    await expect(log.locator("tbody tr")).toHaveCount(1);
    await expect(log).toContainText("grace@example.org");
    const csv = await page.request.get(url + "/admin/audit.csv?action=role-change");
    expect(csv.status()).toBe(200);
    const text = await csv.text();
    expect(text.split("\r\n")[0]).toBe("id,at,actor,target,action,batch,changes");
    expect(text).toContain("Role change");
    expect(text).not.toContain("Deactivation");
  });

  test("filters, sorting and the export follow the Users page's query; operators get no Audit log", async ({
    page,
  }) => {
    await signIn(page, "op@example.org", opPassword);
    await expect(page.getByRole("link", { name: "Audit log" })).toHaveCount(0);
    expect((await page.request.get(url + "/admin/audit.csv")).status()).toBe(403);
    await page.goto(url + "/users");
    await hydrated(page);
    await page.getByLabel("End state").selectOption("Inactive");
    await expect(page).toHaveURL(/state=inactive/);
    await expect(usersTable(page).locator("tbody tr")).toHaveCount(1);
    await expect(usersTable(page)).toContainText("gone@example.org");
    const exported = await page.getByRole("link", { name: "Export users" }).getAttribute("href");
    const csv = await (await page.request.get(url + exported!)).text();
    expect(csv).toContain("gone@example.org");
    expect(csv).not.toContain("ada@example.org");

    await page.getByLabel("End state").selectOption("All");
    await page.getByLabel("Source").selectOption("Manual");
    await expect(usersTable(page)).toContainText("No user matches.");
    await page.getByLabel("Source").selectOption("All");
    await page.getByLabel("Sort by").selectOption("Name");
    // Ada Lovelace, Gonzo Gone, Grace Hopper, Olga Operator, Roster Admin…
    await expect(usersTable(page).locator("tbody tr").first()).toContainText("ada@example.org");
    await expect(usersTable(page).locator("tbody tr").nth(1)).toContainText("gone@example.org");
    await expect(page.getByRole("status").filter({ hasText: "Showing" })).toContainText("Showing 1–5 of 5.");
  });
});
