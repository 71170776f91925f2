import { test, expect, Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { adminEmail, hydrated, signInAt, startRoster, tempData } from "./helpers";

// Two `roster serve` processes on one PostgreSQL database, as behind a load
// balancer: a throwaway cluster of the test's own (scripts/pg-test-cluster),
// or the database ROSTER_TEST_DATABASE_URL names (give it an empty one).
// Both servers start at once (migrations and the first administrator are
// decided once). Cookies are per host, not per port: the browser sends the
// session made on one server to the other.
const password = "two servers secret 9";
const script = resolve(__dirname, "../../scripts/pg-test-cluster");
let first = "";
let second = "";
let cluster = "";
const stops: (() => void)[] = [];

test.beforeAll(async ({}, testInfo) => {
  test.skip(testInfo.project.name !== "debug", "one run is enough: the engine is the same in both builds");
  test.setTimeout(60_000);
  let database = process.env.ROSTER_TEST_DATABASE_URL ?? "";
  if (!database) {
    // Not in the run's folder: the cluster's owner (postgres) must reach it.
    cluster = mkdtempSync(join(tmpdir(), "roster-e2e-pg-"));
    database = execFileSync(script, ["start", cluster, String(process.pid)]).toString().trim();
  }
  const env = { ROSTER_ADMIN_PASSWORD: password };
  const servers = [tempData("pg-first-"), tempData("pg-second-")].map((log) =>
    startRoster(log, "127.0.0.1:0", env, ["--database", database]),
  );
  stops.push(...servers.map((s) => () => s.child.kill()));
  [first, second] = await Promise.all(servers.map((s) => s.listening));
});

test.afterAll(() => {
  stops.forEach((stop) => stop());
  if (cluster) execFileSync(script, ["stop", cluster]);
});

async function preview(page: Page, url: string, name: string, csv: string) {
  await page.goto(url + "/users/import");
  await hydrated(page);
  await page.getByLabel("CSV file").setInputFiles({ name, mimeType: "text/csv", buffer: Buffer.from(csv) });
  await expect(page.getByTestId("counts")).toBeVisible();
}

async function userCount(page: Page, url: string) {
  await page.goto(url + "/users");
  await hydrated(page);
  return page.getByTestId("user-count");
}

test("two servers on one database behave as one", async ({ page }) => {
  // One administrator although both servers started at once.
  await signInAt(first, page, adminEmail, password);
  await expect(await userCount(page, first)).toHaveText("1");

  // The session made on the first server is valid on the second.
  await page.goto(second + "/");
  await hydrated(page);
  await expect(page.getByTestId("signed-in-as")).toHaveText(adminEmail);

  // An import on the first is seen on the second at once.
  const head = "email,first_name,last_name,title\n";
  await preview(page, first, "team.csv", `${head}ada@example.org,Ada,Lovelace,Engineer\ngrace@example.org,Grace,Hopper,\n`);
  await expect(page.getByTestId("counts")).toContainText("Create 2");
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByRole("status")).toContainText("2 created, 0 updated");
  await expect(await userCount(page, second)).toHaveText("3");

  // A preview on the second server, then a commit on the first over the
  // same user: the second's commit is refused as changed since preview.
  await preview(page, second, "manager.csv", `${head}ada@example.org,Ada,Lovelace,Manager\n`);
  await expect(page.getByTestId("counts")).toContainText("Update 1");
  const other = await page.context().newPage();
  await preview(other, first, "director.csv", `${head}ada@example.org,Ada,Lovelace,Director\n`);
  await other.getByRole("button", { name: "Next" }).click();
  await expect(other.getByRole("status")).toContainText("0 created, 1 updated");
  await other.close();
  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByRole("alert").filter({ hasText: "Changed since preview" })).toBeVisible();
  await expect(page.getByRole("table", { name: /^Users to update \(/ })).toContainText("title: Director → Manager");

  // Signing out on the second ends the session on the first too.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin$/);
  await page.goto(first + "/");
  await expect(page).toHaveURL(/\/signin$/);
});
