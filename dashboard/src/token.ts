/**
 * The operator's bearer token: typed into the header's field and kept in sessionStorage, so it
 * lasts while the tab is open and is never written to disk or sent anywhere but this origin.
 */
const STORAGE_KEY = "fulcrum.token";

/** Binds the token form; `changed` runs after the token is set or cleared. */
export function bindToken(changed: () => void): () => string {
  const form = document.getElementById("token-form") as HTMLFormElement;
  const input = document.getElementById("token") as HTMLInputElement;
  const clear = document.getElementById("token-clear") as HTMLButtonElement;
  let token = sessionStorage.getItem(STORAGE_KEY) ?? "";
  input.value = token;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    token = input.value.trim();
    if (token) sessionStorage.setItem(STORAGE_KEY, token);
    else sessionStorage.removeItem(STORAGE_KEY);
    changed();
  });
  clear.addEventListener("click", () => {
    token = "";
    input.value = "";
    sessionStorage.removeItem(STORAGE_KEY);
    changed();
  });
  return () => token;
}
