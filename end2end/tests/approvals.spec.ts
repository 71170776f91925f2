import { test, expect, Page } from "@playwright/test";
import { adminEmail, enrolAt, hydrated, makeLinkAt, signInAt, seededServer } from "./helpers";

// Four-eyes approval on a server of its own: imports of more than two
// users wait for a second person with the Approval role. op@ sends,
// boss@ decides (both were imported, so both have the Approval role).
const adminPassword = "approvals admin secret 3";
const opPassword = "sender's long secret";
const bossPassword = "approver's long secret";
let url = "";
let stop = () => {};

test.beforeAll(async ({}, testInfo) => {
  const server = await seededServer(testInfo, "approvals-", adminPassword, (roster, importCsv) => {
    importCsv(
      "email,first_name,last_name,title\n" +
        "op@example.org,Otto,Sender,\n" +
        "boss@example.org,Bo,Approver,\n" +
        "kept@example.org,Kim,Kept,Engineer\n",
    );
    roster("options", "set", "import.approval_above", "2");
  });
  url = server.url;
  stop = server.stop;
});
test.afterAll(() => stop());

const signIn = (page: Page, email: string, password: string) => signInAt(url, page, email, password);

/** Imports a file as the signed-in operator and presses Next. */
async function send(page: Page, name: string, csv: string) {
  await page.goto(url + "/users/import");
  await hydrated(page);
  await page.getByLabel("CSV file").setInputFiles({ name, mimeType: "text/csv", buffer: Buffer.from(csv) });
  await expect(page.getByTestId("counts")).toBeVisible();
  await page.getByRole("button", { name: "Next" }).click();
}

/** Opens the waiting request of this file on the Approvals page. */
async function openRequest(page: Page, file: string) {
  await page.goto(url + "/approvals");
  await hydrated(page);
  await page.getByRole("table", { name: "Waiting for approval" }).getByRole("link", { name: file }).click();
  await hydrated(page);
  await expect(page.getByRole("heading", { name: /Approval request/ })).toBeVisible();
}

async function userCount(page: Page, query: string): Promise<string> {
  await page.goto(url + "/users?q=" + encodeURIComponent(query));
  await hydrated(page);
  return (await page.getByRole("table", { name: "Users" }).locator("tbody").innerText()).trim();
}

const three = (tag: string) =>
  "email,first_name,last_name\n" +
  `${tag}1@example.org,${tag},One\n${tag}2@example.org,${tag},Two\n${tag}3@example.org,${tag},Three\n`;

test.describe.configure({ mode: "serial" });
test.describe("approvals @release", () => {
  test("the administrator enrols the sender and the approver", async ({ page, browser }) => {
    await signIn(page, adminEmail, adminPassword);
    await page.goto(url + "/admin/options");
    await hydrated(page);
    await expect(page.getByLabel("Approval needed above (rows)")).toHaveValue("2");
    for (const [email, password] of [
      ["op@example.org", opPassword],
      ["boss@example.org", bossPassword],
    ]) {
      await makeLinkAt(url, page, email);
      const link = await page.getByTestId("sign-in-link").getAttribute("href");
      await enrolAt(url, browser, link!, password);
    }
  });

  test("an import above the threshold is sent for approval and approved by a second person", async ({ page }) => {
    await signIn(page, "op@example.org", opPassword);
    await send(page, "three.csv", three("alpha"));
    await expect(page.getByRole("status")).toContainText("Sent for approval");
    expect(await userCount(page, "alpha")).toContain("No user matches.");
    // The sender sees the request but no Approve.
    await openRequest(page, "three.csv");
    await expect(page.getByText("You sent this import")).toBeVisible();
    await expect(page.getByRole("button", { name: "Approve" })).toHaveCount(0);
    await page.goto(url + "/users/history");
    await hydrated(page);
    await expect(page.getByRole("table", { name: "Waiting for approval" })).toContainText("three.csv");

    await signIn(page, "boss@example.org", bossPassword);
    await expect(page.getByRole("link", { name: "Approvals" })).toBeVisible();
    await openRequest(page, "three.csv");
    await expect(page.getByTestId("counts")).toContainText("Create 3");
    await expect(page.getByRole("table", { name: /^Users to create/ })).toContainText("alpha2@example.org");
    await page.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByRole("status")).toContainText("Approved: written as batch");
    expect(await userCount(page, "alpha")).toContain("alpha3@example.org");
    await page.goto(url + "/users/history");
    await hydrated(page);
    const decided = page.getByRole("table", { name: "Decided requests" });
    await expect(decided).toContainText("op@example.org");
    await expect(decided).toContainText("Approved by boss@example.org");
    await expect(page.getByRole("table", { name: "Imports" })).toContainText("three.csv");
  });

  test("a rejected request writes nothing and shows its reason", async ({ page }) => {
    await signIn(page, "op@example.org", opPassword);
    await send(page, "wrong.csv", three("beta"));
    await expect(page.getByRole("status")).toContainText("Sent for approval");

    await signIn(page, "boss@example.org", bossPassword);
    await openRequest(page, "wrong.csv");
    await expect(page.getByRole("button", { name: "Reject" })).toBeDisabled();
    await page.getByLabel("Reason").fill("not our staff");
    await page.getByRole("button", { name: "Reject" }).click();
    await expect(page.getByRole("status")).toContainText("Rejected: nothing was written.");
    expect(await userCount(page, "beta")).toContain("No user matches.");
    await page.goto(url + "/approvals");
    await hydrated(page);
    await expect(page.getByRole("table", { name: "Decided requests" })).toContainText(
      "Rejected by boss@example.org: not our staff",
    );
  });

  test("a request whose users changed after sending is refused with Changed since preview", async ({ page }) => {
    await signIn(page, "op@example.org", opPassword);
    await send(
      page,
      "stale.csv",
      "email,first_name,last_name,title\nkept@example.org,Kim,Kept,Director\n" +
        "gamma1@example.org,G,One,\ngamma2@example.org,G,Two,\n",
    );
    await expect(page.getByRole("status")).toContainText("Sent for approval");
    // Meanwhile the administrator changes kept@'s title.
    await signIn(page, adminEmail, adminPassword);
    await page.goto(url + "/users/u/kept@example.org");
    await hydrated(page);
    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByRole("form", { name: "Edit user" }).getByLabel("Title", { exact: true }).fill("Manager");
    await page.getByRole("form", { name: "Edit user" }).getByRole("button", { name: "Save" }).click();
    await page.getByRole("button", { name: "Confirm" }).click();
    await expect(page.getByRole("table", { name: "User" })).toContainText("Manager");

    await signIn(page, "boss@example.org", bossPassword);
    await openRequest(page, "stale.csv");
    await page.getByRole("button", { name: "Approve" }).click();
    await expect(page.getByRole("alert")).toContainText("Changed since preview");
    expect(await userCount(page, "gamma")).toContain("No user matches.");
    await page.goto(url + "/users/u/kept@example.org");
    await hydrated(page);
    await expect(page.getByRole("table", { name: "User" })).toContainText("Manager");
  });
});
