import { test, expect, Page } from "@playwright/test";
import { adminEmail, hydrated, signIn, signedIn, signOut, startRoster, tempData } from "./helpers";

test("sign in, wrong password, sign out", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/signin$/);

  await signIn(page, adminEmail, "not the password");
  await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");
  await signIn(page, "nobody@example.org", "not the password");
  await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");

  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("signed-in-as")).toHaveText(adminEmail);
  const cookie = (await page.context().cookies()).find((c) => c.name === "roster");
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe("Strict");
  await signOut(page);
  await signedIn(page);
  const again = (await page.context().cookies()).find((c) => c.name === "roster");
  expect(again?.value).not.toBe(cookie?.value); // a new session id at every sign-in
  await signOut(page);
  await page.goto("/users");
  await expect(page).toHaveURL(/\/signin$/);
});

async function linkFor(page: Page, email: string): Promise<string> {
  await signedIn(page);
  await page.goto("/users");
  await hydrated(page);
  await page.getByLabel("User email").fill(email);
  await page.getByRole("button", { name: "Make sign-in link" }).click();
  const link = await page.getByTestId("sign-in-link").getAttribute("href");
  expect(link).toMatch(/\/link\/[0-9a-f]{64}$/);
  await signOut(page);
  return new URL(link!).pathname;
}

async function setPassword(page: Page, path: string, password: string) {
  await page.goto(path);
  await hydrated(page);
  await page.getByLabel("New password").fill(password);
  await page.getByLabel("Repeat password").fill(password);
  await page.getByRole("button", { name: "Set password" }).click();
}

test("a self-service user signs in through a link and is refused on an operator page", async ({ page }) => {
  const path = await linkFor(page, "sam@example.org");
  await setPassword(page, path, "password");
  await expect(page.getByRole("alert")).toContainText("most commonly used");
  await setPassword(page, path, "sam's own long secret");
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId("signed-in-as")).toHaveText("sam@example.org");
  await expect(page.getByRole("heading", { name: "Welcome, Sam Self" })).toBeVisible();

  const response = await page.goto("/users");
  expect(response?.status()).toBe(403);
  await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  // The server function refuses too: 403, nothing returned.
  const form = { "content-type": "application/x-www-form-urlencoded" };
  const api = await page.request.post("/api/user_count", { headers: form });
  expect(api.status()).toBe(403);
  // Every operator and admin page and function refuses a self-service user.
  for (const path of ["/users/create", "/users/import", "/users/new", "/users/history", "/admin/options"]) {
    const r = await page.goto(path);
    expect(r?.status(), path).toBe(403);
    await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  }
  for (const [fn, data] of [
    ["import_options", ""],
    ["import_history", ""],
    ["undo_import", "id=1"],
    ["search_users", "query=sam"],
    ["make_sign_in_link", "email=pat%40example.org"],
    ["save_options", "end_state=inactive&roles=admin&max_rows=1&approval_above=0&approval_window_hours=24&sync_max_deactivate_percent=10&link_days=1&editable=&scim_delete=deactivate"],
    ["approval_list", ""],
    ["approval_details", "id=1"],
    ["decide_approval", "id=1&approve=true&reason="],
    ["set_user_end_state", "email=pat%40example.org&active=false"],
  ]) {
    expect((await page.request.post(`/api/${fn}`, { headers: form, data })).status(), fn).toBe(403);
  }
  expect((await page.request.post("/api/import/upload?name=f.csv", { data: "email\na@x.org\n" })).status()).toBe(403);
  expect((await page.request.get("/template.csv")).status()).toBe(403);
  // But My profile is theirs, and has no Quick search for them.
  await page.goto("/profile");
  await hydrated(page);
  await expect(page.getByLabel("Display name")).toHaveValue("Sam Self");
  await expect(page.getByLabel("Quick search")).toHaveCount(0);

  // The link is single-use.
  await signOut(page);
  await page.goto(path);
  await expect(page.getByText("This sign-in link is not valid")).toBeVisible();
  // And the new password works.
  await signIn(page, "sam@example.org", "sam's own long secret");
  await expect(page.getByTestId("signed-in-as")).toHaveText("sam@example.org");
});

test("a password change ends the user's other sessions", async ({ page, browser }, testInfo) => {
  const first = await linkFor(page, "pat@example.org");
  const other = await browser.newContext({ baseURL: testInfo.project.use.baseURL });
  const elsewhere = await other.newPage();
  await setPassword(elsewhere, first, "pat's first long secret");
  await expect(elsewhere.getByTestId("signed-in-as")).toHaveText("pat@example.org");

  const second = await linkFor(page, "pat@example.org");
  await setPassword(page, second, "pat's second long secret");
  await expect(page.getByTestId("signed-in-as")).toHaveText("pat@example.org");

  await elsewhere.goto("/");
  await expect(elsewhere).toHaveURL(/\/signin$/);
  await other.close();
});

test("an inactive user cannot sign in", async ({ page }) => {
  const path = await linkFor(page, "ina@example.org");
  await setPassword(page, path, "ina's own long secret");
  await expect(page.getByRole("alert")).toContainText("inactive");
  // At sign-in the right password of an inactive account gets the same
  // answer as a wrong one: the answer tells nothing about the password.
  await signIn(page, "ina@example.org", "ina's own long secret");
  await expect(page.getByRole("alert")).toHaveText("Wrong email or password.");
  await page.goto("/");
  await expect(page).toHaveURL(/\/signin$/);
});

test("server functions answer 401 without a session and refuse cross-site posts", async ({ request }) => {
  const form = { "content-type": "application/x-www-form-urlencoded" };
  expect((await request.post("/api/user_count", { headers: form })).status()).toBe(401);
  expect((await request.post("/api/make_sign_in_link", { headers: form, data: "email=sam%40example.org" })).status()).toBe(401);
  const cross = await request.post("/api/sign_in", {
    headers: { ...form, origin: "http://evil.example" },
    data: "email=admin%40localhost&password=x",
  });
  expect(cross.status()).toBe(403);
  const fetchMeta = await request.post("/api/sign_out", { headers: { ...form, "sec-fetch-site": "cross-site" } });
  expect(fetchMeta.status()).toBe(403);
});

test("sessions survive a server restart", async ({ page }) => {
  const data = tempData("restart-");
  const env = { ROSTER_ADMIN_PASSWORD: "restart admin secret" };
  const first = startRoster(data, "127.0.0.1:0", env);
  let url: string;
  try {
    url = await first.listening;
    await page.goto(url + "/signin");
    await hydrated(page);
    await page.getByLabel("Email").fill(adminEmail);
    await page.getByLabel("Password").fill("restart admin secret");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByTestId("signed-in-as")).toHaveText(adminEmail);
  } finally {
    first.child.kill();
  }
  if (first.child.exitCode === null && first.child.signalCode === null) {
    await new Promise((r) => first.child.once("exit", r));
  }
  const second = startRoster(data, new URL(url).host, env);
  try {
    await second.listening;
    await page.goto(url + "/");
    await expect(page.getByTestId("signed-in-as")).toHaveText(adminEmail);
    await expect(page).toHaveURL(url + "/");
  } finally {
    second.child.kill();
  }
});

test("repeated wrong passwords are throttled, even for the right one", async ({ playwright }) => {
  // Its own server: the throttle is per address, and every test comes from 127.0.0.1.
  const roster = startRoster(tempData("throttle-"), "127.0.0.1:0", {
    ROSTER_ADMIN_PASSWORD: "throttle admin secret",
  });
  try {
    const url = await roster.listening;
    const api = await playwright.request.newContext({ baseURL: url });
    const attempt = async (password: string) => {
      const r = await api.post("/api/sign_in", {
        form: { email: adminEmail, password },
        headers: { accept: "application/json" },
      });
      return { status: r.status(), text: await r.text() };
    };
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await attempt("wrong guess " + i));
    expect(answers.every((a) => a.text.includes("Wrong email or password."))).toBe(true);
    // Delays start after the fifth failure (1 s, then 2 s, 4 s …): the
    // right password, tried at once, is refused without being checked.
    const throttled = await attempt("throttle admin secret");
    expect(throttled.text).toContain("Too many failed sign-ins");
    await api.dispose();
  } finally {
    roster.child.kill();
  }
});

test("the first start prints a one-time link that sets the admin's password", async ({ page }) => {
  const roster = startRoster(tempData("first-"), "127.0.0.1:0");
  try {
    const url = await roster.listening;
    // The link is printed before "listening", with the real port.
    const link = roster.output().match(/(http:\/\/\S+\/link\/[0-9a-f]{64})/)?.[1];
    expect(link).toBeDefined();
    expect(new URL(link!).host).toBe(new URL(url).host);
    expect(roster.output()).toContain("admin@localhost");
    await page.goto(link!);
    await hydrated(page);
    await page.getByLabel("New password").fill("first admin secret");
    await page.getByLabel("Repeat password").fill("first admin secret");
    await page.getByRole("button", { name: "Set password" }).click();
    await expect(page.getByTestId("signed-in-as")).toHaveText("admin@localhost");
  } finally {
    roster.child.kill();
  }
});
