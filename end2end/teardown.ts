import { rmSync } from "node:fs";

/** Removes the run's temporary folder with every data folder in it. */
export default function teardown() {
  const dir = process.env.ROSTER_E2E_TMP;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
