import { test, expect } from "@playwright/test";
import { adminEmail, hydrated, seededServer, signInAt } from "./helpers";

// SCIM on a server of its own: the machine owner makes an API token on
// the command line; a provisioning client (here Playwright's request
// context, as Entra ID would send it) creates and then disables a user;
// the administrator sees the user in Users with Source SCIM and the
// audit events naming the token. A token opens no page.
const adminPassword = "scim admin secret 7";
let url = "";
let token = "";
let stop = () => {};

test.beforeAll(async ({}, testInfo) => {
  const server = await seededServer(testInfo, "scim-", adminPassword, (roster) => {
    token = JSON.parse(roster("tokens", "create", "--name", "entra", "--role", "operator", "--json")).token;
  });
  url = server.url;
  stop = server.stop;
});
test.afterAll(() => stop());

test("a user provisioned over SCIM appears in Users with Source SCIM, audited under the token's name", async ({
  page,
  request,
}) => {
  const auth = { authorization: `Bearer ${token}`, "content-type": "application/scim+json" };
  const created = await request.post(url + "/scim/v2/Users", {
    headers: auth,
    data: {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName: "Sam.Scim@Example.org",
      name: { givenName: "Sam", familyName: "Scim" },
      active: true,
      title: "Analyst",
    },
  });
  expect(created.status()).toBe(201);
  expect((await created.json()).id).toBe("sam.scim@example.org");
  const disabled = await request.patch(url + "/scim/v2/Users/sam.scim@example.org", {
    headers: auth,
    data: {
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "Replace", value: { active: "False" } }],
    },
  });
  expect(disabled.status()).toBe(200);

  // The token opens no page and no server function.
  const page_with_token = await request.get(url + "/users", { headers: { authorization: `Bearer ${token}` }, maxRedirects: 0 });
  expect(page_with_token.status()).not.toBe(200);
  const fn_with_token = await request.post(url + "/api/who_am_i", { headers: { authorization: `Bearer ${token}` } });
  expect(await fn_with_token.text()).not.toContain("sam.scim");

  await signInAt(url, page, adminEmail, adminPassword);
  await page.goto(url + "/users?source=SCIM");
  await hydrated(page);
  const row = page.getByRole("row", { name: /sam\.scim@example\.org/i });
  await expect(row).toContainText("SCIM");
  await expect(row).toContainText("Inactive");
  await page.goto(url + "/admin/audit");
  await hydrated(page);
  const log = page.getByRole("table", { name: "Audit log" });
  await expect(log).toContainText("Created over SCIM");
  await expect(log).toContainText("Changed over SCIM");
  await expect(log).toContainText("token:entra");
});

test("an administrator makes an API token on the page, sees it once, and revokes it", async ({ page, request }) => {
  await signInAt(url, page, adminEmail, adminPassword);
  await page.getByRole("link", { name: "API tokens" }).click();
  await expect(page).toHaveURL(url + "/admin/tokens");
  await hydrated(page);
  await page.getByLabel("Name").fill("Okta");
  await page.getByLabel("Role").selectOption("operator");
  await page.getByRole("button", { name: "Make token" }).click();
  const shown = page.getByTestId("new-token");
  await expect(shown).toHaveText(/^roster_[0-9a-f]{16}_[0-9a-f]{64}$/);
  const made = (await shown.textContent())!;
  const id = made.split("_")[1];
  const table = page.getByRole("table", { name: "API tokens" });
  await expect(table.getByTestId(`token-${id}`)).toContainText("Okta");
  await expect(table.getByTestId(`token-${id}`)).toContainText("Active");

  // It works over SCIM, and the page never shows it again.
  const listed = await request.get(url + "/scim/v2/Users", { headers: { authorization: `Bearer ${made}` } });
  expect(listed.status()).toBe(200);
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("new-token")).toHaveCount(0);
  expect(await page.content()).not.toContain(made.split("_")[2]);

  await table.getByTestId(`token-${id}`).getByRole("button", { name: "Revoke" }).click();
  await expect(table.getByTestId(`token-${id}`)).toContainText("Revoked");
  const refused = await request.get(url + "/scim/v2/Users", { headers: { authorization: `Bearer ${made}` } });
  expect(refused.status()).toBe(401);
});
