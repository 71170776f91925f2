import { test, expect } from "@playwright/test";
import { existsSync, readFileSync } from "node:fs";
import { hydrated, signIn, startRoster, tempData } from "./helpers";

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
  // The start page: the administrator and the three seeded users, one of
  // them inactive, and the seed's imports — rendered by the server.
  await expect(page.getByTestId("user-count")).toHaveText("4");
  await expect(page.getByTestId("active-count")).toHaveText("3");
  await expect(page.getByTestId("inactive-count")).toHaveText("1");
  await expect(page.getByRole("list", { name: "Latest imports" })).toContainText("inactive.csv");
  await expect(page.getByRole("link", { name: "Create user" }).first()).toHaveAttribute("href", "/users/create");
  const start = await (await page.request.get("/")).text();
  expect(start).toContain("inactive.csv");
  expect(errors).toEqual([]);
});

test("an unknown address is a 404 page, not an internal error in the log", async ({ request }) => {
  // Its own server, so that its log holds only what this test caused.
  const data = tempData("notfound-");
  const roster = startRoster(data, "127.0.0.1:0", { ROSTER_ADMIN_PASSWORD: "not found admin secret" });
  try {
    const url = await roster.listening;
    for (const path of ["/no-such-page", "/users/u/nobody%40x.org/nothing"]) {
      const answer = await request.get(url + path);
      expect(answer.status(), path).toBe(404);
      expect(await answer.text()).toContain("Page not found");
    }
  } finally {
    roster.child.kill();
  }
  const log = existsSync(`${data}.log`) ? readFileSync(`${data}.log`).toString() : "";
  expect(log).not.toContain("internal error");
});
