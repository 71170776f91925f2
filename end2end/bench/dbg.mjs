import { chromium } from "@playwright/test";
import { spawn } from "node:child_process";
import { writeFileSync, mkdtempSync } from "node:fs";
const dir = mkdtempSync("/tmp/dbg-");
const lines = ["email,first_name,last_name"]; lines.length = 0;

const child = spawn("/work/main/target/release/roster", ["--data", dir + "/d", "--addr", "127.0.0.1:0", "serve"], { env: { ...process.env, ROSTER_ADMIN_PASSWORD: "bench admin password 1", LEPTOS_SITE_ROOT: "/work/main/target/site-release" } });
const url = await new Promise((ok) => { let out = ""; child.stdout.on("data", (d) => { out += d; const m = out.match(/listening on (http:\/\/\S+)/); if (m) ok(m[1]); }); });
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const page = await browser.newPage();
page.on("console", (m) => console.log("console:", m.text()));
page.on("worker", (w) => { console.log("worker started"); w.on("console", (m) => console.log("worker console:", m.text())); });
await page.goto(url + "/signin"); await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
await page.getByLabel("Email").fill("admin@localhost"); await page.getByLabel("Password").fill("bench admin password 1");
await page.getByRole("button", { name: "Sign in" }).click(); await page.getByTestId("signed-in-as").waitFor();
await page.goto(url + "/users/import"); await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
await page.getByLabel("CSV file").setInputFiles("/tmp/users-1m.csv");
const t0 = Date.now();
for (let i = 0; i < 200; i++) { const t = (await page.locator("section.import").innerText({ timeout: 100 }).catch(() => "(none)")).slice(0, 90).replace(/\n/g, " | "); console.log(Date.now() - t0, t); await page.waitForTimeout(50); }
await browser.close(); child.kill();
