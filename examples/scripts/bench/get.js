// The smallest journey: one GET of env TARGET and a check, then THINK_MS
// of think time (0: none). `cargo xtask bench` measures a script user's
// memory and CPU per request with it, in each language.
import { http, check, env, sleep } from "scheduler:script";

export function iteration() {
  const r = http.get(env("TARGET"), { name: "get" });
  check(r, { "status 200": (r) => r.status === 200 });
  const think = Number(env("THINK_MS") ?? "0");
  if (think > 0) sleep(think / 1000);
}
