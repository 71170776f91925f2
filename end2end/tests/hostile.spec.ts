import { test, expect } from "@playwright/test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hydrated, signedIn } from "./helpers";

// The hostile-file corpus (fixtures/hostile/corpus.json, shared with the
// Rust test of the command line) previewed in the browser: each file gets
// its counts or its clear message, the page stays small, and the console
// stays clean. Previews write nothing, so the shared server is used.
type Entry = {
  file: string;
  error?: string;
  counts?: [number, number, number, number];
  message?: string;
  generate?: { head: string; repeat: string; times: number; tail: string };
};

const dir = join(__dirname, "../fixtures/hostile");
const corpus: Entry[] = JSON.parse(readFileSync(join(dir, "corpus.json")).toString());

function bytesOf(e: Entry): Buffer {
  if (e.generate) {
    const g = e.generate;
    return Buffer.from(g.head + g.repeat.repeat(g.times) + g.tail);
  }
  return readFileSync(join(dir, e.file));
}

test("every hostile file is previewed with its answer, a small page and a clean console", async ({ page }) => {
  test.setTimeout(120_000);
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  await signedIn(page);
  for (const entry of corpus) {
    await page.goto("/users/import");
    await hydrated(page);
    await page.getByLabel("CSV file").setInputFiles({ name: entry.file, mimeType: "text/csv", buffer: bytesOf(entry) });
    if (entry.error) {
      // Answered quickly (a 100 000-column file included): the file is
      // refused before any row is read.
      await expect(page.getByRole("alert"), entry.file).toContainText(entry.error, { timeout: 5_000 });
    } else {
      const [create, update, unchanged, invalid] = entry.counts!;
      const counts = page.getByTestId("counts");
      await expect(counts, entry.file).toContainText(`Create ${create}`);
      await expect(counts, entry.file).toContainText(`Update ${update}`);
      await expect(counts, entry.file).toContainText(`Unchanged ${unchanged}`);
      await expect(counts, entry.file).toContainText(`Invalid ${invalid}`);
      if (entry.message) await expect(page.locator("main"), entry.file).toContainText(entry.message);
    }
    const textLength = await page.evaluate(() => document.body.innerText.length);
    expect(textLength, `${entry.file}: page text`).toBeLessThan(200_000);
  }
  expect(problems).toEqual([]);
});

test("a spoofed name is never stored, and the row says which character", async ({ page }) => {
  await signedIn(page);
  await page.goto("/users/import");
  await hydrated(page);
  const entry = corpus.find((e) => e.file === "bidi-name.csv")!;
  await page.getByLabel("CSV file").setInputFiles({ name: entry.file, mimeType: "text/csv", buffer: bytesOf(entry) });
  const invalid = page.getByRole("table", { name: /^Invalid rows/ });
  await expect(invalid).toContainText("First name contains an invisible right-to-left override (U+202E)");
  await expect(page.getByRole("button", { name: "Next" })).toBeDisabled();
});
