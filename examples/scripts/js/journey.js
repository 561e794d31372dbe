// Log in with a user from the `users` data source, then ask for `/me` with
// the token the login returned: each request a measured step, each check
// counted. Build: scheduler-host script build journey.js -o journey.wasm
import { http, check, data } from "scheduler:script";

const base = "http://127.0.0.1:18080";

export function iteration(ctx) {
  const row = data.row("users");
  const login = http.post(`${base}/login`, {
    json: { user: row.name, password: row.password },
    name: "login",
  });
  check(login, { "logged in": (r) => r.status === 200 });
  const token = login.json().auth.token;
  const me = http.get(`${base}/me`, {
    headers: { Authorization: "Bearer " + token },
    name: "me",
  });
  check(me, { "me ok": (r) => r.status === 200 });
}
