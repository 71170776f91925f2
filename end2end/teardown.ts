import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

/**
 * Fails the run when any roster server it started logged a panic (every
 * server's stderr is kept as `<data folder>.log` in the run's folder), then
 * removes the run's temporary folder with every data folder in it.
 */
export default function teardown() {
  const dir = process.env.ROSTER_E2E_TMP;
  if (!dir || !existsSync(dir)) return;
  const panics: string[] = [];
  for (const name of readdirSync(dir).filter((n) => n.endsWith(".log"))) {
    const log = readFileSync(join(dir, name)).toString();
    const lines = log.split("\n");
    lines.forEach((line, i) => {
      if (line.includes("panicked at")) panics.push(`${name}: ${lines.slice(i, i + 3).join(" | ")}`);
    });
  }
  rmSync(dir, { recursive: true, force: true });
  if (panics.length > 0) {
    throw new Error(`a roster server panicked during the run:\n${panics.join("\n")}`);
  }
}
