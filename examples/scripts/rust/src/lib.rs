//! Log in with a user from the `users` data source, then ask for `/me`
//! with the token the login returned: each request a measured step, each
//! check counted.

use scheduler_script::{Ctx, Journey, check, data, http};

const BASE: &str = "http://127.0.0.1:18080";

struct Login;

impl Journey for Login {
    fn iteration(_: Ctx) -> Result<(), String> {
        let row = data::row("users")?;
        let login = http::post(&format!("{BASE}/login"))
            .json(&serde_json::json!({"user": row["name"], "password": row["password"]}))
            .name("login")
            .send();
        check("logged in", login.status == 200);
        let token = login.json()?["auth"]["token"]
            .as_str()
            .ok_or("the login returned no auth.token")?
            .to_string();
        let me = http::get(&format!("{BASE}/me"))
            .header("Authorization", &format!("Bearer {token}"))
            .name("me")
            .send();
        check("me ok", me.status == 200);
        Ok(())
    }
}

scheduler_script::journey!(Login);
