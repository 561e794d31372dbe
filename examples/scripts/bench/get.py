"""The smallest journey: one GET of env TARGET and a check, then THINK_MS
of think time (0: none). `cargo xtask bench` measures a script user's
memory and CPU per request with it, in each language."""

from scheduler_script import check, env, http, sleep


def iteration(ctx):
    r = http.get(env("TARGET"), name="get")
    check(r, {"status 200": lambda r: r.status == 200})
    think = int(env("THINK_MS") or "0")
    if think > 0:
        sleep(think / 1000)
