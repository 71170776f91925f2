// `make bench`, browser part: the import of generated 100k- and 1M-row
// files in headless Chromium on the release build (server and wasm), next
// to PapaParse parsing the same text and the CLI's dry run of the same
// file. Prints its Markdown table, then (with ROSTER_BENCH_OUT, as `make
// bench` runs it) the one table of every target, from its own numbers and
// those the native benches left in that folder. Numbers, not assertions.
//
// Usage: node bench/browser.mjs [rows…]   (default: 100000 1000000)
import { chromium } from "@playwright/test";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync, readFileSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");
const roster = join(root, "target/release/roster");
const site = join(root, "target/site-release");
const password = "bench admin password 1";
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const ROWS = sizes.length ? sizes : [100_000, 1_000_000];
const dir = mkdtempSync(join(tmpdir(), "roster-bench-"));

function usersFile(rows) {
  const lines = ["email,first_name,last_name,display_name,title,department,office,phone,mobile,manager"];
  for (let i = 0; i < rows; i++) {
    lines.push(
      `person${i}@example.org,First${i},Last${i},First${i} Last${i},Engineer,Department ${i % 50},Office ${i % 7},+41 44 ${1_000_000 + i},+41 79 ${2_000_000 + i},boss${i % 100}@example.org`,
    );
  }
  const path = join(dir, `users-${rows}.csv`);
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

function startServer(data) {
  const child = spawn(roster, ["--data", data, "--addr", "127.0.0.1:0", "serve"], {
    env: { ...process.env, ROSTER_ADMIN_PASSWORD: password, LEPTOS_SITE_ROOT: site, RUST_LOG: "warn" },
  });
  let out = "";
  const url = new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error("roster did not start: " + out)), 30_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
  });
  return { child, url };
}

/** Memory of this browser's renderer processes (the tab and its worker), in bytes (PSS). */
function rendererRss() {
  const parent = new Map();
  const pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      parent.set(pid, stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {}
  }
  const ours = (pid) => {
    for (let p = pid, hops = 0; p && p !== "0" && hops < 10; p = parent.get(p), hops++) {
      if (p === String(browserPid)) return true;
    }
    return false;
  };
  let total = 0;
  for (const pid of pids) {
    try {
      if (!ours(pid) || !readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--type=renderer")) continue;
      // Proportional set size: shared libraries counted once across the
      // renderer processes, not once in each.
      const pss = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").match(/Pss:\s+(\d+) kB/);
      if (pss) total += Number(pss[1]) * 1024;
    } catch {}
  }
  return total;
}
let browserPid = 0;

/** Samples `rendererRss` until `stop()`; the peak. */
function peakRss() {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, rendererRss())), 100);
  return () => {
    clearInterval(timer);
    return Math.max(peak, rendererRss());
  };
}

// Marks the page records itself: when the file was chosen, when the
// counts appeared, when the result appeared, and every long task.
const marks = () => {
  window.__bench = { longtasks: [] };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__bench.longtasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: "longtask", buffered: true });
  document.addEventListener("change", () => (window.__bench.chosen = performance.now()), true);
  new MutationObserver(() => {
    const b = window.__bench;
    const step = document.querySelector("label[for=import-progress]")?.textContent;
    if (step) (b.steps ??= {})[step] ??= performance.now();
    if (!b.previewed && document.querySelector("[data-testid=counts]")) b.previewed = performance.now();
    const status = document.querySelector("p.done[role=status]");
    if (!b.done && status && status.textContent.includes("created")) b.done = performance.now();
  }).observe(document, { childList: true, subtree: true, characterData: true });
};

const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (ms) => (ms / 1000).toFixed(2) + " s";
const mib = (b) => (b / 1024 / 1024).toFixed(0) + " MiB";

async function main() {
  const files = ROWS.map((n) => ({ rows: n, path: usersFile(n) }));
  const server = await chromium.launchServer({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      // performance.memory with real numbers.
      "--enable-precise-memory-info",
    ],
  });
  browserPid = server.process().pid;
  const browser = await chromium.connect(server.wsEndpoint());
  const results = [];
  for (const { rows, path } of files) {
    const bytes = readFileSync(path).length;
    // The CLI's dry run of the same file (native, release), and PapaParse
    // on the same text in the same browser (a blank page): the medians of
    // three runs each, as the baselines vary from run to run by up to a
    // third on this machine.
    const cli = median(
      [0, 1, 2].map(() => {
        const cliData = mkdtempSync(join(dir, "cli-"));
        const t0 = performance.now();
        execFileSync(roster, ["--data", cliData, "import", "--dry-run", path], { stdio: "ignore" });
        return performance.now() - t0;
      }),
    );
    const blank = await browser.newPage();
    await blank.addScriptTag({ path: join(root, "end2end/node_modules/papaparse/papaparse.min.js") });
    await blank.setContent('<input type="file" id="f">');
    await blank.setInputFiles("#f", path);
    const papaRuns = [];
    for (let run = 0; run < 3; run++) {
      papaRuns.push(
        await blank.evaluate(async () => {
          const text = await document.getElementById("f").files[0].text();
          const t = performance.now();
          window.Papa.parse(text, { header: false });
          return performance.now() - t;
        }),
      );
    }
    const papa = { ms: median(papaRuns) };
    await blank.close();

    // Roster: a fresh server and store, file chosen → preview → Next → result.
    const data = mkdtempSync(join(dir, "data-"));
    const app = startServer(data);
    const url = await app.url;
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url + "/signin");
    await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
    await page.getByLabel("Email").fill("admin@localhost");
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("signed-in-as").waitFor();
    await page.addInitScript(marks);
    await page.goto(url + "/users/import");
    await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
    // An operator takes a moment to pick the file; the page starts its
    // preview worker meanwhile.
    await page.waitForTimeout(1000);
    const idle = rendererRss();
    const memory = peakRss();
    await page.getByLabel("CSV file").setInputFiles(path);
    await page.getByTestId("counts").waitFor({ timeout: 600_000 });
    const peak = memory();
    const jsHeap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
    await page.getByRole("button", { name: "Next" }).click();
    await page.locator("p.done[role=status]").waitFor({ timeout: 900_000 });
    const b = await page.evaluate(() => window.__bench);
    if (process.env.BENCH_STEPS) console.error(rows, Object.entries(b.steps ?? {}).map(([k, v]) => `${k}: +${((v - b.chosen) / 1000).toFixed(2)} s`).join(", "), `previewed: +${((b.previewed - b.chosen) / 1000).toFixed(2)} s`);
    const longest = Math.max(0, ...b.longtasks.filter((t) => t.start >= b.chosen && t.start <= b.previewed).map((t) => t.duration));
    results.push({
      rows,
      bytes,
      cli,
      papa: papa.ms,
      preview: b.previewed - b.chosen,
      longest,
      peak,
      idle,
      jsHeap,
      e2e: b.done - b.chosen,
    });
    await context.close();
    app.child.kill();
  }
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });

  console.log("\n## Import in headless Chromium (release server and wasm)\n");
  console.log("| rows | file | CLI dry run | PapaParse parse only | Roster preview (chosen → counts) | preview ÷ PapaParse | preview ÷ CLI | longest main-thread task | tab memory before → peak (renderer PSS) | page JS heap | end to end (chosen → result) |");
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const r of results) {
    console.log(
      `| ${r.rows.toLocaleString("en-US")} | ${(r.bytes / 1e6).toFixed(1)} MB | ${seconds(r.cli)} | ${seconds(r.papa)} | ${seconds(r.preview)} | ${(r.preview / r.papa).toFixed(1)}× | ${(r.preview / r.cli).toFixed(1)}× | ${r.longest.toFixed(0)} ms | ${mib(r.idle)} → ${mib(r.peak)} | ${mib(r.jsHeap)} | ${seconds(r.e2e)} |`,
    );
  }
  const native = nativeResults();
  if (native) summary(results, native);
}

/** The native benches' numbers (milliseconds), if they ran in this `make bench`. */
function nativeResults() {
  const out = process.env.ROSTER_BENCH_OUT;
  if (!out) return null;
  const json = (path) => {
    try {
      return JSON.parse(readFileSync(path, "utf8"));
    } catch {
      return null;
    }
  };
  // Criterion's median for one benchmark of `cargo bench -p domain --bench plan`.
  const criterion = (id, rows) => {
    const e = json(join(root, "target/criterion/import", id, String(rows), "new/estimates.json"));
    return e ? e.median.point_estimate / 1e6 : null;
  };
  return {
    bareLoop: criterion("csv_bytes_loop", 100000),
    plan: criterion("plan", 100000),
    planFloor: criterion("floor_lookup_sha256", 100000),
    redb: json(join(out, "redb-commit.json")),
    postgres: json(join(out, "postgres-commit.json")),
    sync: { redb: json(join(out, "sync-redb.json")), postgres: json(join(out, "sync-postgres.json")) },
  };
}

/** One row per target of the million-row and PostgreSQL work, measured in this run. */
function summary(results, native) {
  const ms = (v) => (v >= 1000 ? seconds(v) : v.toFixed(v < 10 ? 1 : 0) + " ms");
  const rows = [];
  const ratio = (what, roster, base, baseName, target) => {
    if (roster == null || base == null) return rows.push([what, "not measured", "", "", `≤ ${target}×`, "?"]);
    const r = roster / base;
    rows.push([what, ms(roster), `${baseName} ${ms(base)}`, `${r.toFixed(2)}×`, `≤ ${target}×`, r <= target ? "yes" : "no"]);
  };
  // What the same baseline costs with only the work no implementation can
  // skip: when the floor is over the target, the target cannot be met.
  const floor = (what, value, base, baseName, target) => {
    if (value == null || base == null) return;
    const r = value / base;
    rows.push([`↳ floor: ${what}`, ms(value), `${baseName} ${ms(base)}`, `${r.toFixed(2)}×`, `(≤ ${target}×)`, r <= target ? "reachable" : "floor over target"]);
  };
  const at = (n) => results.find((r) => r.rows === n);
  ratio("plan, native, 100k rows (`parse_file` + `plan_parsed`)", native?.plan, native?.bareLoop, "bare csv ByteRecord loop", 4);
  floor("the same loop + each key looked up among the stored users + SHA-256 of the bytes", native?.planFloor, native?.bareLoop, "bare loop", 4);
  ratio("commit of 100k new users, redb (`apply_import`)", native?.redb?.roster, native?.redb?.bare, "bare redb insert", 2);
  floor("the entries `apply_import` wrote (users, indexes, batch, audit), inserted as bytes", native?.redb?.same_work, native?.redb?.bare, "bare insert", 2);
  ratio("commit of 100k new users, PostgreSQL (`apply_import`)", native?.postgres?.roster, native?.postgres?.bare, "bare COPY", 2);
  floor("the rows `apply_import` wrote (users, search words, batch, audit), COPYed as they are", native?.postgres?.same_work, native?.postgres?.bare, "bare COPY", 2);
  // Sync: what finding the missing users adds to planning the same file.
  for (const [engine, label] of [["redb", "redb"], ["postgres", "PostgreSQL"]]) {
    const s = native?.sync?.[engine];
    if (!s) continue;
    rows.push([`sync of 99k rows against 1M users, ${label}: plan, one organization (1 000 missing)`, ms(s.scoped_sync_plan), `plain plan ${ms(s.plain_plan)}`, `+${ms(s.scoped_sync_plan - s.plain_plan)}`, "", ""]);
    rows.push([`sync of 99k rows against 1M users, ${label}: plan, every organization (901 000 missing)`, ms(s.whole_sync_plan), `plain plan ${ms(s.plain_plan)}`, `+${ms(s.whole_sync_plan - s.plain_plan)}`, "", ""]);
    rows.push([`sync of 99k rows against 1M users, ${label}: commit, one organization`, ms(s.scoped_sync_commit), "", "", "", ""]);
  }
  const small = at(100_000);
  const large = at(1_000_000);
  if (small) ratio("preview of 100k rows in Chromium (chosen → counts)", small.preview, small.papa, "PapaParse parse only", 1);
  if (large) ratio("preview of 1M rows in Chromium (chosen → counts)", large.preview, large.cli, "CLI dry run", 2);
  for (const r of results) {
    const name = r.rows.toLocaleString("en-US");
    rows.push([`longest main-thread task, ${name} rows (chosen → counts)`, `${r.longest.toFixed(0)} ms`, "", "", "≤ 200 ms", r.longest <= 200 ? "yes" : "no"]);
    rows.push([`tab memory at the preview's peak, ${name} rows (renderer PSS)`, mib(r.peak), `idle tab ${mib(r.idle)}`, "", "< 1 GiB", r.peak < 1024 ** 3 ? "yes" : "no"]);
    rows.push([`end to end, ${name} rows (chosen → result page)`, seconds(r.e2e), "", "", "", ""]);
  }
  console.log("\n## `make bench`: every target, measured in this run\n");
  console.log("| measure | Roster | baseline | ratio | target | met |");
  console.log("|---|---:|---:|---:|---:|:---:|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
