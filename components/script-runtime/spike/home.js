import { http, check } from "scheduler:script";
export function iteration(ctx) {
  const home = http.get("http://127.0.0.1:18080/", { name: "home" });
  check(home, { "home ok": (r) => r.status === 200, "has body": (r) => r.body.length > 0 });
  const miss = http.get("http://127.0.0.1:18080/status/404?i=" + ctx.iteration);
  check(miss, { "is 404": (r) => r.status === 404 });
  if (ctx.iteration === 2) throw new Error("the third iteration fails on purpose");
}
