//! SPIKE (issue 28): the `scheduler:script/sdk` a script imports, made of
//! the action slots: each request is an action call driven to its end
//! (blocking: `wasi:io/poll` on its pollable), timed and kept as a named
//! sample until the scheduler takes them (`recorder`).

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
        world runtime {
            import scheduler:actions/http@0.9.0;
            export scheduler:script/sdk@0.1.0;
            export recorder;
        }
    ",
    path: ["../../wit/actions", "../../wit/script"],
    with: { "wasi:io/poll@0.2.12": wasip2::io::poll },
    generate_all,
});

use exports::scheduler::script::sdk::{self, HttpRequest, HttpResponse};
use exports::scheduler::script_runtime::recorder::{self, Sample};
use scheduler::actions::http;
use scheduler::actions::types as t;
use std::cell::RefCell;
use std::time::Instant;

#[derive(Default)]
struct State {
    vu: u32,
    iteration: u64,
    samples: Vec<Sample>,
    checks: Vec<(String, bool)>,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

struct Runtime;

impl recorder::Guest for Runtime {
    fn begin(vu: u32, iteration: u64) {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.vu = vu;
            s.iteration = iteration;
        });
    }

    fn take() -> (Vec<Sample>, Vec<(String, bool)>) {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            (
                std::mem::take(&mut s.samples),
                std::mem::take(&mut s.checks),
            )
        })
    }
}

/// The action call to its end, blocking this instance.
fn finish(call: &http::Call) -> t::Outcome {
    loop {
        match call.advance() {
            t::Progress::Done(o) => return o,
            t::Progress::Waiting(w) => {
                let timer = wasip2::clocks::monotonic_clock::subscribe_instant(w.deadline);
                let _ = wasip2::io::poll::poll(&[&w.ready, &timer]);
            }
        }
    }
}

impl sdk::Guest for Runtime {
    fn http(r: HttpRequest) -> HttpResponse {
        let name = r.name.clone().unwrap_or_else(|| {
            let path = r.url.split('?').next().unwrap_or(&r.url);
            format!("{} {path}", r.method)
        });
        let vu = STATE.with(|s| s.borrow().vu);
        let ctx = t::CallContext {
            source_ip: None,
            timeout: u64::from(r.timeout_ms.unwrap_or(10_000)) * 1_000_000,
            vu,
        };
        let req = t::HttpRequest {
            method: r.method,
            url: r.url,
            headers: r.headers,
            body: r.body,
            expect_body: None,
            max_body: r.max_body.unwrap_or(1 << 20),
            max_redirects: r.max_redirects.unwrap_or(10),
            cookies: true,
            // Every header and the body, for the script (a trace keeps them).
            queries: Vec::new(),
            version: None,
            proxy: None,
            digest: None,
            trace: true,
        };
        let started = Instant::now();
        let call = http::Call::new(ctx, &req, None);
        let o = finish(&call);
        let latency = started.elapsed();
        let error = o
            .error
            .as_ref()
            .map(|e| format!("{:?}: {}", e.kind, e.message));
        let (headers, body) = o
            .trace
            .map(|x| (x.response_headers, x.response_body))
            .unwrap_or_default();
        STATE.with(|s| {
            s.borrow_mut().samples.push(Sample {
                name,
                latency_ns: latency.as_nanos() as u64,
                status: o.status,
                error: error.clone(),
                bytes_sent: o.bytes_sent,
                bytes_received: o.bytes_received,
            })
        });
        HttpResponse {
            status: o.status.unwrap_or(0),
            headers,
            body,
            error,
            duration_ms: latency.as_secs_f64() * 1000.0,
        }
    }

    fn tcp(
        _: String,
        _: Vec<u8>,
        _: Option<Vec<u8>>,
        _: Option<String>,
        _: Option<u32>,
    ) -> Result<Vec<u8>, String> {
        Err("the spike has no tcp".into())
    }

    fn udp(
        _: String,
        _: Vec<u8>,
        _: bool,
        _: Option<String>,
        _: Option<u32>,
    ) -> Result<Vec<u8>, String> {
        Err("the spike has no udp".into())
    }

    fn check(name: String, passed: bool) -> bool {
        STATE.with(|s| s.borrow_mut().checks.push((name, passed)));
        passed
    }

    fn sleep(ms: u32) {
        let t = wasip2::clocks::monotonic_clock::subscribe_duration(u64::from(ms) * 1_000_000);
        t.block();
    }

    fn vu() -> u32 {
        STATE.with(|s| s.borrow().vu)
    }

    fn iteration() -> u64 {
        STATE.with(|s| s.borrow().iteration)
    }

    fn env(_: String) -> Option<String> {
        None
    }

    fn data_row(source: String) -> Result<Vec<(String, String)>, String> {
        Err(format!("the spike has no data source {source}"))
    }

    fn counter(_: String, _: f64) {}
    fn trend(_: String, _: f64) {}
    fn group(_: Option<String>) {}
}

export!(Runtime);
