"""Log in with a user from the `users` data source, then ask for `/me` with
the token the login returned: each request a measured step, each check
counted, the login's time a custom trend.
Build: scheduler-host script build journey.py -o journey.wasm"""

from scheduler_script import check, data, env, http, metrics


# The module's top level runs once, when the script is built: the SDK is
# called from the journey's functions only.
def iteration(ctx):
    base = env("BASE") or "http://127.0.0.1:8080"
    row = data.row("users")
    login = http.post(f"{base}/login", json={"user": row["name"], "password": row["password"]},
                      name="login")
    check(login, {"logged in": lambda r: r.status == 200})
    metrics.trend("login_ms", login.duration_ms)
    token = login.json()["auth"]["token"]
    me = http.get(f"{base}/me", headers={"Authorization": "Bearer " + token}, name="me")
    check(me, {"me ok": lambda r: r.status == 200 and r.json()["user"] == row["name"]})
    metrics.counter("journeys")
