wit_bindgen::generate!({
    inline: "
        package scheduler:script-runtime;
        interface recorder {
            record sample {
                name: string,
                latency-ns: u64,
                status: option<u16>,
                error: option<string>,
                bytes-sent: u64,
                bytes-received: u64,
            }
            begin: func(vu: u32, iteration: u64);
            take: func() -> tuple<list<sample>, list<tuple<string, bool>>>;
        }
        world driver {
            import recorder;
            import scheduler:script/journey@0.1.0;
            export run: func() -> string;
        }
    ",
    path: ["../../../../wit/script"],
    generate_all,
});
struct D;
impl Guest for D {
    fn run() -> String {
        use scheduler::script::journey;
        use scheduler::script_runtime::recorder;
        let mut out = String::new();
        for i in 0..3 {
            recorder::begin(0, i);
            let r = journey::iteration();
            let (samples, checks) = recorder::take();
            let shown: Vec<String> = samples
                .iter()
                .map(|s| {
                    format!(
                        "{} {:?} {:.2}ms {:?}",
                        s.name,
                        s.status,
                        s.latency_ns as f64 / 1e6,
                        s.error
                    )
                })
                .collect();
            out += &format!("iteration {i}: {r:?}; samples {shown:?}; checks {checks:?}\n");
        }
        out
    }
}
export!(D);
