import { test, expect } from "@playwright/test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { adminEmail, signInAt, startRoster, tempData } from "./helpers";

// A large file through the whole import on the optimised wasm, which is
// what operators get: the preview runs in a Web Worker with a progress
// bar and Cancel; the commit streams the file to the server. The debug
// bundle would spend minutes on the same file, so the debug project skips
// it; the million-row run is in `make bench`.
const password = "large import admin 9";
const ROWS = 200_000;
let url = "";
let stop = () => {};
let file = "";

test.beforeAll(async ({}, testInfo) => {
  if (testInfo.project.name !== "release") return;
  const data = tempData("large-");
  const roster = startRoster(data, "127.0.0.1:0", {
    ROSTER_ADMIN_PASSWORD: password,
    LEPTOS_SITE_ROOT: "target/site-release",
  });
  stop = () => roster.child.kill();
  url = await roster.listening;
  // About 22 MB: ten columns, as an HR export would have them.
  const rows = ["email,first_name,last_name,display_name,title,department,office,phone,mobile,manager"];
  for (let i = 0; i < ROWS; i++) {
    rows.push(
      `person${i}@example.org,First${i},Last${i},First${i} Last${i},Engineer,Department ${i % 50},Office ${i % 7},+41 44 ${100_0000 + i},+41 79 ${200_0000 + i},boss${i % 100}@example.org`,
    );
  }
  file = join(data + "-files", "users-200k.csv");
  mkdirSync(data + "-files");
  writeFileSync(file, rows.join("\n") + "\n");
});
test.afterAll(() => stop());

test("a 200k-row file: progress bar, Cancel sends nothing, preview again, commit @release", async ({ page }, testInfo) => {
  test.skip(testInfo.project.name !== "release", "the release bundle is what operators get; the debug one is minutes slower");
  test.setTimeout(300_000);
  const sent: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/api/import")) sent.push(new URL(r.url()).pathname);
  });
  await signInAt(url, page, adminEmail, password);
  await page.goto(url + "/users/import");
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();

  // Chosen, then cancelled while the worker reads or checks it.
  await page.getByLabel("CSV file").setInputFiles(file);
  await expect(page.getByRole("progressbar")).toBeVisible();
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByLabel("CSV file")).toBeVisible();
  await expect(page.getByRole("progressbar")).toHaveCount(0);
  // The worker is gone: no preview turns up later, nothing was sent.
  await page.waitForTimeout(3_000);
  await expect(page.getByTestId("counts")).toHaveCount(0);
  expect(sent.filter((p) => p === "/api/import/upload")).toEqual([]);

  // Chosen again: previewed in full.
  const before = sent.length;
  await page.getByLabel("CSV file").setInputFiles(file);
  const counts = page.getByTestId("counts");
  await expect(counts).toContainText(`Create ${ROWS}`, { timeout: 120_000 });
  await expect(counts).toContainText("Invalid 0");
  await expect(page.getByText(`Showing 100 of ${ROWS}`)).toBeVisible();
  // One lookup a chunk of 50 000 keys.
  expect(sent.slice(before).filter((p) => p === "/api/import_lookup")).toHaveLength(ROWS / 50_000);

  await page.getByRole("button", { name: "Next" }).click();
  await expect(page.getByRole("status")).toContainText(`${ROWS} created`, { timeout: 240_000 });
  expect(sent.filter((p) => p === "/api/import/upload")).toHaveLength(1);
  // A sign-in link for every created user, in one request (its body, all
  // their addresses, is far over the 2 MiB of ordinary requests).
  const [links] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download sign-in links" }).click()]);
  const lines = readFileSync(await links.path()).toString().trim().split("\r\n");
  expect(lines).toHaveLength(ROWS + 1);
  expect(lines[ROWS]).toMatch(new RegExp(`^person${ROWS - 1}@example.org,${url}/link/[0-9a-f]{64},`));

  // The store has them all (and the administrator).
  await page.goto(url + "/users");
  await expect(page.getByText("Showing 1–50 of 200 001.")).toBeVisible();
});
