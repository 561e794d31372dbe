//! The smallest journey: one GET of env TARGET and a check, then THINK_MS
//! of think time (0: none). `cargo xtask bench` measures a script user's
//! memory and CPU per request with it, in each language.

use scheduler_script::{Ctx, Journey, check, env, http, sleep};

struct Get;

impl Journey for Get {
    fn iteration(_: Ctx) -> Result<(), String> {
        let target = env("TARGET").ok_or("set --env TARGET=URL")?;
        let r = http::get(&target).name("get").send();
        check("status 200", r.status == 200);
        let think: u64 = env("THINK_MS").and_then(|t| t.parse().ok()).unwrap_or(0);
        if think > 0 {
            sleep(std::time::Duration::from_millis(think));
        }
        Ok(())
    }
}

scheduler_script::journey!(Get);
