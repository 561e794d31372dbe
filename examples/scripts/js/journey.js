// Log in with a user from the `users` data source, then ask for `/me` with
// the token the login returned: each request a measured step, each check
// counted, the login's time a custom trend.
// Build: scheduler-host script build journey.js -o journey.wasm
import { http, check, data, env, metrics } from "scheduler:script";

// The module's top level runs once, when the script is built: the SDK is
// called from the journey's functions only.
export function iteration(ctx) {
  const base = env("BASE") ?? "http://127.0.0.1:8080";
  const row = data.row("users");
  const login = http.post(`${base}/login`, {
    json: { user: row.name, password: row.password },
    name: "login",
  });
  check(login, { "logged in": (r) => r.status === 200 });
  metrics.trend("login_ms", login.durationMs);
  const token = login.json().auth.token;
  const me = http.get(`${base}/me`, {
    headers: { Authorization: "Bearer " + token },
    name: "me",
  });
  check(me, { "me ok": (r) => r.status === 200 && r.json().user === row.name });
  metrics.counter("journeys");
}
