"""Log in with a user from the `users` data source, then ask for `/me` with
the token the login returned: each request a measured step, each check
counted. Build: scheduler-host script build journey.py -o journey.wasm"""

from scheduler_script import http, check, data

BASE = "http://127.0.0.1:18080"


def iteration(ctx):
    row = data.row("users")
    login = http.post(f"{BASE}/login", json={"user": row["name"], "password": row["password"]},
                      name="login")
    check(login, {"logged in": lambda r: r.status == 200})
    token = login.json()["auth"]["token"]
    me = http.get(f"{BASE}/me", headers={"Authorization": "Bearer " + token}, name="me")
    check(me, {"me ok": lambda r: r.status == 200})
