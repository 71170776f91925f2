import { test, expect } from "@playwright/test";
import { hydrated } from "./helpers";

test("home page renders the user count from the store and hydrates @release", async ({ page, request }) => {
  const html = await (await request.get("/")).text();
  expect(html).toContain("/pkg/roster.js");
  expect(html).toContain("/pkg/roster.wasm");
  expect((await request.get("/pkg/roster.wasm")).status()).toBe(200);
  expect((await request.get("/pkg/roster.js")).status()).toBe(200);

  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto("/");
  await hydrated(page);
  // The first administrator exists from the start: one user in the store.
  await expect(page.getByTestId("user-count")).toHaveText("1");
  await page.getByRole("button", { name: "Refresh" }).click();
  await expect(page.getByTestId("refreshes")).toHaveText("Refreshed 1 times");
  await expect(page.getByTestId("user-count")).toHaveText("1");
  expect(errors).toEqual([]);
});
