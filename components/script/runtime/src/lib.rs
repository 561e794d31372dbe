//! The script runtime: `scheduler:script/sdk` made of the action slots.
//! Each request a script makes is an action call driven to its end
//! (blocking the instance: `wasi:io/poll` on the call's pollable, bounded by
//! its deadline), kept as a named record until the scheduler takes it
//! (`recorder`). One user's turn at a time: `begin` says whose.

mod record;

wit_bindgen::generate!({
    world: "scheduler:script-runtime/runtime",
    path: "../../../wit/script-runtime",
    with: { "wasi:io/poll@0.2.12": wasip2::io::poll },
    generate_all,
});

use exports::scheduler::script::sdk::{self, ExchangeResult, HttpRequest, HttpResponse};
use exports::scheduler::script_runtime::recorder::{self, Context, Point, Request};
use record::{STATE, Turn, finish, with};
use scheduler::actions::types as t;
use scheduler::actions::{http, tcp, udp};
use scheduler::core_libs::tls;
use std::time::Instant;

struct Runtime;

impl recorder::Guest for Runtime {
    fn begin(ctx: Context, tls: Option<tls::Client>) {
        STATE.with(|s| *s.borrow_mut() = Some(Turn::new(ctx, tls)));
    }

    fn take() -> (Vec<Request>, Vec<Point>) {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.as_mut().map_or_else(Default::default, |t| t.take())
        })
    }
}

impl sdk::Guest for Runtime {
    fn http(r: HttpRequest) -> HttpResponse {
        let (name, ctx, max_body, trace) = with(|t| {
            let name = t.name(r.name.as_deref(), || {
                let path = r.url.split('?').next().unwrap_or(&r.url);
                format!("{} {path}", r.method)
            });
            (
                name,
                t.call_context(r.timeout_ms),
                t.ctx.max_body,
                t.ctx.trace,
            )
        });
        let req = t::HttpRequest {
            method: r.method,
            url: r.url,
            headers: r.headers,
            body: r.body,
            expect_body: None,
            max_body: r.max_body.unwrap_or(max_body),
            max_redirects: r.max_redirects.unwrap_or(10),
            cookies: true,
            queries: Vec::new(),
            version: None,
            proxy: None,
            digest: None,
            // The response's headers and body come back in the exchange.
            trace: true,
        };
        let started = Instant::now();
        let call = with(|t| http::Call::new(ctx, &req, t.tls.as_ref()));
        let mut o = finish(|| call.advance());
        drop(call);
        let latency = started.elapsed();
        let error = o.error.as_ref().map(record::error_text);
        let (headers, body) = o
            .trace
            .as_ref()
            .map(|x| (x.response_headers.clone(), x.response_body.clone()))
            .unwrap_or_default();
        if !trace {
            // Only the traced user's exchanges leave the instance.
            o.trace = None;
            o.earlier.iter_mut().for_each(|h| h.trace = None);
        }
        let status = o.status.unwrap_or(0);
        with(|t| t.record(name, latency, o));
        HttpResponse {
            status,
            headers,
            body,
            error,
            duration_ms: latency.as_secs_f64() * 1000.0,
        }
    }

    fn tcp(r: sdk::TcpRequest) -> ExchangeResult {
        let target = match record::target(&r.target) {
            Ok(e) => e,
            Err(why) => return record::refused("tcp", &r.target, r.name, why),
        };
        let (name, ctx) = with(|t| {
            let name = t.name(r.name.as_deref(), || format!("tcp {}", r.target));
            (name, t.call_context(r.timeout_ms))
        });
        let req = t::TcpRequest {
            target,
            payload: r.payload,
            read: match r.delimiter {
                Some(d) => t::ReadMode::Delimiter(d),
                None => t::ReadMode::UntilClose,
            },
            expect: r.expect,
            max_read: with(|t| t.ctx.max_body),
        };
        let started = Instant::now();
        let call = tcp::Call::new(ctx, &req, None);
        let o = finish(|| call.advance());
        drop(call);
        record::exchanged(name, started.elapsed(), o)
    }

    fn udp(r: sdk::UdpRequest) -> ExchangeResult {
        let target = match record::target(&r.target) {
            Ok(e) => e,
            Err(why) => return record::refused("udp", &r.target, r.name, why),
        };
        let (name, ctx) = with(|t| {
            let name = t.name(r.name.as_deref(), || format!("udp {}", r.target));
            (name, t.call_context(r.timeout_ms))
        });
        let req = t::UdpRequest {
            target,
            payload: r.payload,
            await_reply: r.await_reply,
            expect: r.expect,
        };
        let started = Instant::now();
        let call = udp::Call::new(ctx, &req);
        let o = finish(|| call.advance());
        drop(call);
        record::exchanged(name, started.elapsed(), o)
    }

    fn check(name: String, passed: bool) -> bool {
        with(|t| t.check(&name, passed));
        passed
    }

    fn sleep(ms: u32) {
        wasip2::clocks::monotonic_clock::subscribe_duration(u64::from(ms) * 1_000_000).block();
    }

    fn vu() -> u32 {
        with(|t| t.ctx.vu)
    }

    fn iteration() -> u64 {
        with(|t| t.ctx.iteration)
    }

    fn env(name: String) -> Option<String> {
        with(|t| {
            t.ctx
                .env
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
    }

    fn setup_values() -> Vec<(String, String)> {
        with(|t| t.ctx.setup.clone())
    }

    fn data_row(source: String) -> Result<Vec<(String, String)>, String> {
        with(|t| {
            t.ctx
                .rows
                .iter()
                .find(|(name, _)| *name == source)
                .map(|(_, row)| row.clone())
                .ok_or_else(|| {
                    let names: Vec<&str> = t.ctx.rows.iter().map(|(n, _)| n.as_str()).collect();
                    format!(
                        "no data source named {source:?} with a row for this iteration (sources: {})",
                        names.join(", ")
                    )
                })
        })
    }

    fn counter(name: String, value: f64) {
        with(|t| t.point(name, false, value));
    }

    fn trend(name: String, value: f64) {
        with(|t| t.point(name, true, value));
    }

    fn group(name: Option<String>) {
        with(|t| t.group = name);
    }
}

export!(Runtime);
