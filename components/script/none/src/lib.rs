//! The default filler of the script slot: a scenario with a `workflow:`
//! never calls it, and a `script:` scenario replaces it with its script.
//! Called anyway (a script scenario run on a composition without its
//! script), every export fails with a message that says what to do.

wit_bindgen::generate!({
    inline: "
        package scheduler:script-none;
        world script-none {
            // Used (for the user's number), so the part imports the sdk
            // as a script does and the .wac's `...runtime` matches.
            import scheduler:script/sdk@0.1.0;
            export scheduler:script/journey@0.1.0;
        }
    ",
    path: "../../../wit/script",
    generate_all,
});

fn why() -> String {
    format!(
        "user {}: no script is composed in: run a `script:` scenario with scheduler-host, \
         or compose one with `wac compose --dep component:script=FILE.wasm`",
        scheduler::script::sdk::vu()
    )
}

struct NoScript;

impl exports::scheduler::script::journey::Guest for NoScript {
    fn setup() -> Result<Vec<(String, String)>, String> {
        Err(why())
    }

    fn iteration() -> Result<(), String> {
        Err(why())
    }

    fn teardown() -> Result<(), String> {
        Err(why())
    }
}

export!(NoScript);
