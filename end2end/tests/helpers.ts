import { expect, Page } from "@playwright/test";

export const adminEmail = "admin@localhost";
export const adminPassword = "e2e admin password 42";

/** Waits until the wasm bundle has hydrated the page (App sets the marker). */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated=true]")).toBeAttached();
}

export async function signIn(page: Page, email = adminEmail, password = adminPassword) {
  await page.goto("/signin");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

export async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin$/);
}

/** Signs in and waits for the start page. */
export async function signedIn(page: Page, email = adminEmail, password = adminPassword) {
  await signIn(page, email, password);
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
}
