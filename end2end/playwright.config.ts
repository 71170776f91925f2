import { defineConfig } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

// The config is loaded by the runner and again by every worker: choose the
// ports and data folders once, in the runner, and hand them down through
// the environment (workers inherit it).
function freePort(): string {
  return execFileSync(process.execPath, [
    "-e",
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})",
  ]).toString();
}
function once(name: string, make: () => string): string {
  if (!process.env[name]) process.env[name] = make();
  return process.env[name]!;
}

const root = resolve(__dirname, "..");
const debugPort = once("ROSTER_E2E_PORT", freePort);
const releasePort = once("ROSTER_E2E_RELEASE_PORT", freePort);
// Every data folder of a run lives under one temporary folder, removed by
// the global teardown (tests make theirs with `tempData` in helpers.ts).
const runDir = once("ROSTER_E2E_TMP", () => mkdtempSync(join(tmpdir(), "roster-e2e-run-")));
const debugData = once("ROSTER_E2E_DATA", () => mkdtempSync(join(runDir, "debug-")));
const releaseData = once("ROSTER_E2E_RELEASE_DATA", () => mkdtempSync(join(runDir, "release-")));
const adminPassword = "e2e admin password 42"; // helpers.ts has the same

const chromium = {
  browserName: "chromium" as const,
  launchOptions: {
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  },
};

function server(port: string, data: string, siteRoot: string) {
  return {
    command: `bash end2end/serve.sh ${data} ${port} ${siteRoot}`,
    cwd: root,
    url: `http://127.0.0.1:${port}/`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe" as const,
    env: {
      ROSTER_ADMIN_PASSWORD: adminPassword,
      RUST_LOG: "warn",
    },
  };
}

export default defineConfig({
  testDir: "./tests",
  globalTeardown: "./teardown.ts",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  use: { trace: "retain-on-failure" },
  projects: [
    {
      name: "debug",
      use: { ...chromium, baseURL: `http://127.0.0.1:${debugPort}` },
    },
    {
      // The same server code with the wasm-opt'd release bundle: catches an
      // optimiser that breaks hydration.
      name: "release",
      grep: /@release/,
      use: { ...chromium, baseURL: `http://127.0.0.1:${releasePort}` },
    },
  ],
  webServer: [
    server(debugPort, debugData, "target/site"),
    server(releasePort, releaseData, "target/site-release"),
  ],
});
