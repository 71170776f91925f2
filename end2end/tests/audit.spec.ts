import { test, expect } from "@playwright/test";
import { adminEmail, chooseFileAt, hydrated, signInAt, seededServer } from "./helpers";

// The Audit log of a server of its own: an import of 1 000 users through
// the page is one row that opens to its users, paged; a user's History
// shows the import with the changed fields, and her creation with the
// values she was created with.
const adminPassword = "audit admin secret 7";
let url = "";
let stop = () => {};

test.beforeAll(async ({}, testInfo) => {
  const server = await seededServer(testInfo, "audit-", adminPassword, (_roster, importCsv) => {
    importCsv("email,first_name,last_name,title\nada@example.org,Ada,Lovelace,Engineer\n");
  });
  url = server.url;
  stop = server.stop;
});
test.afterAll(() => stop());

test("an import of 1 000 users is one row in the Audit log that opens to its users", async ({ page }) => {
  await signInAt(url, page, adminEmail, adminPassword);
  let csv = "email,first_name,last_name,title\nada@example.org,Ada,Lovelace,Manager\n";
  for (let i = 0; i < 999; i++) csv += `user${i}@example.org,User,N${i},\n`;
  await chooseFileAt(url, page, "thousand.csv", csv);
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByRole("status")).toContainText("999 created");

  await page.goto(url + "/admin/audit");
  await hydrated(page);
  const log = page.getByRole("table", { name: "Audit log" });
  // The seed's import (batch 1, one user) and the page's (batch 2): a row
  // each, and none of their users' events.
  const batch2 = log.locator("tbody tr", { hasText: "Import (batch 2)" });
  await expect(batch2).toHaveCount(1);
  await expect(batch2).toContainText(adminEmail);
  await expect(batch2).toContainText("thousand.csv");
  await expect(batch2).toContainText("created: (blank) → 999");
  await expect(log.locator("tbody tr", { hasText: "Import (batch 1)" })).toHaveCount(1);
  await expect(log).not.toContainText("user5@example.org");
  await expect(log.locator("tbody tr", { hasText: "Import" })).toHaveCount(2);

  // Opened: its users, 50 a page.
  await batch2.getByRole("link", { name: "1000 users" }).click();
  await expect(page).toHaveURL(/\/admin\/audit\?within=\d+$/);
  await hydrated(page);
  await expect(page.getByRole("note")).toContainText("The users of batch 2.");
  await expect(log.locator("tbody tr")).toHaveCount(50);
  await expect(log.locator("tbody tr").first()).toContainText("Import (batch 2)");
  // A created user's values, derived from the record (not stored twice).
  await expect(log.locator("tbody tr").first()).toContainText("first_name: (blank) → User");
  await page.getByRole("link", { name: "Older events" }).click();
  await expect(page).toHaveURL(/within=\d+&page=1$/);
  await hydrated(page);
  await expect(log.locator("tbody tr")).toHaveCount(50);
  // The target filter within the batch finds the one updated user.
  await page.getByLabel("Target").fill("ada@example.org");
  await page.getByLabel("Target").press("Tab");
  await expect(page).toHaveURL(/target=ada.*&within=\d+$/);
  await expect(log.locator("tbody tr")).toHaveCount(1);
  await expect(log).toContainText("title: Engineer → Manager");
  await page.getByRole("link", { name: "The whole Audit log" }).click();
  await expect(page).toHaveURL(url + "/admin/audit");

  // Her History: the import with its changed field, above her creation.
  await page.goto(url + "/users/u/ada@example.org");
  await hydrated(page);
  const history = page.getByRole("table", { name: "History" });
  await expect(history.locator("tbody tr").nth(0)).toContainText("Import (batch 2)");
  await expect(history.locator("tbody tr").nth(0)).toContainText("title: Engineer → Manager");
  await expect(history.locator("tbody tr").nth(1)).toContainText("Import (batch 1)");
  // Her creation shows the title she was created with, not today's.
  await expect(history.locator("tbody tr").nth(1)).toContainText("title: (blank) → Engineer");
});
