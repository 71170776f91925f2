import { expect, Page } from "@playwright/test";

/** Waits until the wasm bundle has hydrated the page (App sets the marker). */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
}
