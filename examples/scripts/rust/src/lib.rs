//! Log in with a user from the `users` data source, then ask for `/me`
//! with the token the login returned: each request a measured step, each
//! check counted, the login's time a custom trend.
//! Build: cargo build --release --target wasm32-wasip2

use scheduler_script::{Ctx, Journey, check, data, env, http, metrics};

struct Login;

impl Journey for Login {
    fn iteration(_: Ctx) -> Result<(), String> {
        let base = env("BASE").unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let row = data::row("users")?;
        let login = http::post(&format!("{base}/login"))
            .json(&serde_json::json!({"user": row["name"], "password": row["password"]}))
            .name("login")
            .send();
        check("logged in", login.status == 200);
        metrics::trend("login_ms", login.duration_ms);
        let token = login.json()?["auth"]["token"]
            .as_str()
            .ok_or("the login returned no auth.token")?
            .to_string();
        let me = http::get(&format!("{base}/me"))
            .header("Authorization", &format!("Bearer {token}"))
            .name("me")
            .send();
        let user = me.json().ok().and_then(|v| v["user"].as_str().map(str::to_string));
        check("me ok", me.status == 200 && user.as_deref() == Some(row["name"].as_str()));
        metrics::counter("journeys", 1.0);
        Ok(())
    }
}

scheduler_script::journey!(Login);
