import { test, expect } from "@playwright/test";
import { hydrated, signIn } from "./helpers";

test("the app is served, hydrates and round-trips to the store @release", async ({ page, request }) => {
  const html = await (await request.get("/signin")).text();
  expect(html).toContain("/pkg/roster.js");
  expect(html).toContain("/pkg/roster.wasm");
  expect((await request.get("/pkg/roster.wasm")).status()).toBe(200);
  expect((await request.get("/pkg/roster.js")).status()).toBe(200);

  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  // The administrator and the three seeded users.
  await expect(page.getByTestId("user-count")).toHaveText("4");
  await page.getByRole("button", { name: "Refresh" }).click();
  await expect(page.getByTestId("refreshes")).toHaveText("Refreshed 1 times");
  await expect(page.getByTestId("user-count")).toHaveText("4");
  expect(errors).toEqual([]);
});
