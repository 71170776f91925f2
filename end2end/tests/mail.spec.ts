import { test, expect, Page } from "@playwright/test";
import { ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { adminEmail, chooseFileAt, hydrated, signInAt, startRoster, tempData } from "./helpers";

// Mail through a real SMTP server (Python's aiosmtpd, scripts/smtp-sink.py,
// installed by `make deps` into .deps/smtp-venv): a server of this spec's
// own sends through it, and the test reads the mails from the sink's folder.
const root = resolve(__dirname, "../..");
const adminPassword = "mail admin secret 7";
let url = "";
let roster: ChildProcess | undefined;
let sink: ChildProcess | undefined;
let sinkDir = "";

async function startSink(): Promise<number> {
  sinkDir = tempData("smtp-");
  sink = spawn(join(root, ".deps/smtp-venv/bin/python"), [join(root, "scripts/smtp-sink.py"), sinkDir]);
  let out = "";
  return new Promise<number>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the SMTP sink did not start: ${out}`)), 20_000);
    sink!.stdout!.on("data", (d) => {
      out += d;
      const m = out.match(/port (\d+)/);
      if (m) {
        clearTimeout(timer);
        ok(Number(m[1]));
      }
    });
  });
}

/** The mails received so far, as text. */
function mails(): string[] {
  if (!existsSync(sinkDir)) return [];
  return readdirSync(sinkDir)
    .filter((f) => f.endsWith(".eml"))
    .sort((a, b) => parseInt(a) - parseInt(b))
    .map((f) => readFileSync(join(sinkDir, f), "utf8"));
}

function mailsTo(address: string): string[] {
  return mails().filter((m) => m.split("\n")[0].includes(address));
}

/** The link in a mail (its text part is quoted-printable). */
function linkIn(mail: string): string {
  const flat = mail.replace(/=\r?\n/g, "");
  const m = flat.match(/http:\/\/[^\s"<>]+\/link\/[0-9a-f]{64}/);
  expect(m, "a sign-in link in the mail").not.toBeNull();
  return m![0];
}

test.beforeAll(async () => {
  const port = await startSink();
  const data = tempData("mail-");
  const server = startRoster(data, "127.0.0.1:0", {
    ROSTER_ADMIN_PASSWORD: adminPassword,
    ROSTER_SMTP_URL: `smtp://127.0.0.1:${port}`,
    ROSTER_MAIL_FROM: "Roster <roster@example.org>",
  });
  roster = server.child;
  url = await server.listening;
});
test.afterAll(() => {
  roster?.kill();
  sink?.kill();
});

test.describe.configure({ mode: "serial" });
test.describe("mail", () => {
  test("import, Email sign-in links, the mail's link sets a password and signs in", async ({ page, browser }) => {
    await signInAt(url, page, adminEmail, adminPassword);
    await chooseFileAt(url, page, "mail.csv", "email,first_name,last_name\nmia@example.org,Mia,Mail\n");
    await page.getByRole("button", { name: "Next" }).click();
    await expect(page.getByRole("table", { name: "Created users" })).toContainText("mia@example.org");
    await expect(page.getByTestId("email-links-count")).toContainText("1 created users");
    await page.getByRole("button", { name: "Email sign-in links" }).click();
    await expect(page.getByRole("status").filter({ hasText: "queued for mail" })).toContainText("1 sign-in links");
    await expect.poll(() => mailsTo("mia@example.org").length, { timeout: 30_000 }).toBe(1);
    const mail = mailsTo("mia@example.org")[0];
    expect(mail).toContain("Subject: Your sign-in link for Roster");

    const context = await browser.newContext();
    const other = await context.newPage();
    await other.goto(linkIn(mail));
    await hydrated(other);
    await other.getByLabel("New password").fill("mia's own long secret");
    await other.getByLabel("Repeat password").fill("mia's own long secret");
    await other.getByRole("button", { name: "Set password" }).click();
    await expect(other).toHaveURL(url + "/");
    await expect(other.getByTestId("signed-in-as")).toHaveText("mia@example.org");
    await context.close();

    // The Outbox shows it sent; Mia's History shows the mail.
    await page.goto(url + "/admin/outbox");
    await hydrated(page);
    await expect(page.getByTestId("outbox-sent")).toHaveText("1");
    await page.goto(url + "/users/u/mia@example.org");
    await expect(page.getByRole("table", { name: "History" })).toContainText("Sign-in link emailed");
  });

  test("Forgot password? answers the same for an unknown and a known address; only the known one gets a mail", async ({ browser }) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const ask = async (email: string) => {
      await page.goto(url + "/signin");
      await hydrated(page);
      await page.getByRole("link", { name: "Forgot password?" }).click();
      await expect(page).toHaveURL(url + "/forgot-password");
      await hydrated(page);
      await page.getByLabel("Email").fill(email);
      await page.getByRole("button", { name: "Send reset link" }).click();
      const answer = page.getByRole("status");
      await expect(answer).toBeVisible();
      return (await answer.textContent())!;
    };
    const before = mails().length;
    const unknown = await ask("nobody@example.org");
    const known = await ask("mia@example.org");
    expect(known).toBe(unknown);
    await expect.poll(() => mailsTo("mia@example.org").length, { timeout: 30_000 }).toBe(2);
    const reset = mailsTo("mia@example.org")[1];
    expect(reset).toContain("Subject: Reset your password for Roster");
    expect(mailsTo("nobody@example.org")).toHaveLength(0);
    expect(mails().length).toBe(before + 1);

    // The reset link sets a new password.
    await page.goto(linkIn(reset));
    await hydrated(page);
    await page.getByLabel("New password").fill("mia's second long secret");
    await page.getByLabel("Repeat password").fill("mia's second long secret");
    await page.getByRole("button", { name: "Set password" }).click();
    await expect(page.getByTestId("signed-in-as")).toHaveText("mia@example.org");
    await context.close();
  });

  test("a mail the server refuses (5xx) shows as failed with its answer in the Outbox; Retry sends it", async ({ page, browser }) => {
    writeFileSync(join(sinkDir, "answers"), "550 5.1.1 No such mailbox here\n");
    const before = mailsTo("mia@example.org").length;
    const context = await browser.newContext();
    const other = await context.newPage();
    await other.goto(url + "/forgot-password");
    await hydrated(other);
    await other.getByLabel("Email").fill("mia@example.org");
    await other.getByRole("button", { name: "Send reset link" }).click();
    await expect(other.getByRole("status")).toBeVisible();
    await context.close();

    await signInAt(url, page, adminEmail, adminPassword);
    const failed = page.getByRole("table", { name: "Failed messages" });
    await expect
      .poll(async () => {
        await page.goto(url + "/admin/outbox");
        await hydrated(page);
        return (await failed.textContent()) ?? "";
      }, { timeout: 30_000 })
      .toContain("No such mailbox here");
    await expect(page.getByTestId("outbox-failed")).toHaveText("1");
    await page.getByRole("button", { name: "Retry" }).click();
    await expect(page.getByTestId("outbox-failed")).toHaveText("0");
    await expect.poll(() => mailsTo("mia@example.org").length, { timeout: 30_000 }).toBe(before + 1);
  });
});

test.describe("mail templates", () => {
  test("an admin edits a mail's words on Options with a preview; a typo is refused; the next mails use them", async ({ page }) => {
    await signInAt(url, page, adminEmail, adminPassword);
    await page.goto(url + "/admin/options");
    await hydrated(page);
    await expect(page.getByTestId("mail-server")).toHaveText("This server has a mail server: mails are sent.");
    await page.getByLabel("Organisation name in mails").fill("Acme & Co");
    const subject = page.getByLabel("Sign-in link mail: subject");
    const text = page.getByLabel("Sign-in link mail: plain text");
    await expect(subject).toHaveValue("Your sign-in link for {organization}");
    await subject.fill("Welcome to {organization}, {name}");
    await text.fill("Dear {nmae}, start here: {link} (until {expires})");

    // The preview is computed in the browser, before anything is saved.
    await page.getByRole("button", { name: "Preview the sign-in link mail" }).click();
    const preview = page.getByRole("region", { name: "Preview of the sign-in link mail" });
    await expect(preview).toContainText("Subject: Welcome to Acme & Co, Ada Lovelace");
    await expect(preview.getByRole("alert")).toHaveText("The plain text would be refused: {nmae} is not a placeholder (use {name}, {organization}, {link}, {expires}).");
    const html = preview.frameLocator("iframe");
    await expect(html.getByRole("link")).toHaveAttribute("href", "https://roster.example/link/EXAMPLE-ONE-TIME-TOKEN");

    // Saved as a whole or not at all.
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "Nothing was saved" })).toContainText("mail.sign_in.text: {nmae} is not a placeholder");
    await text.fill("Dear {name}, start here: {link} (until {expires})");
    await expect(preview.getByRole("alert")).toHaveCount(0);
    await expect(preview).toContainText("Dear Ada Lovelace, start here: https://roster.example/link/EXAMPLE-ONE-TIME-TOKEN");
    await page.getByLabel("Email sign-in links to the users every import creates").check();
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("status")).toHaveText("Options saved.");
    await page.reload();
    await hydrated(page);
    await expect(page.getByLabel("Sign-in link mail: subject")).toHaveValue("Welcome to {organization}, {name}");
    await expect(page.getByLabel("Email sign-in links to the users every import creates")).toBeChecked();

    // With "every import", the commit queues the mail itself, in the new words.
    await chooseFileAt(url, page, "tpl.csv", "email,first_name,last_name\nteo@example.org,Teo,Template\n");
    await page.getByRole("button", { name: "Next" }).click();
    await expect(page.getByRole("table", { name: "Created users" })).toContainText("teo@example.org");
    await expect.poll(() => mailsTo("teo@example.org").length, { timeout: 30_000 }).toBe(1);
    const mail = mailsTo("teo@example.org")[0].replace(/=\r?\n/g, "");
    expect(mail).toContain("Subject: Welcome to Acme & Co, Teo Template");
    expect(mail).toContain("Dear Teo Template, start here: http");
    linkIn(mail);

    // "Roster's words" brings the defaults back; saved, later tests of
    // this file meet the options as they were.
    await page.goto(url + "/admin/options");
    await hydrated(page);
    await page.getByRole("button", { name: "Roster's words for the sign-in link mail" }).click();
    await expect(page.getByLabel("Sign-in link mail: subject")).toHaveValue("Your sign-in link for {organization}");
    await page.getByLabel("Organisation name in mails").fill("Roster");
    await page.getByLabel("Email sign-in links to the users every import creates").uncheck();
    await page.getByRole("button", { name: "Save" }).click();
    await expect(page.getByRole("status")).toHaveText("Options saved.");
  });
});
