//! `line-ping`: a new step type for the extension slot. It sends one line
//! to a TCP server and expects the reply to contain `expect` (default: the
//! line itself, as from an echo server), through core-libs' sockets.
//!
//! Step params (JSON from the scenario's YAML):
//!   server: "127.0.0.1:7000"   (required: host:port, [v6]:port for IPv6; the
//!                               component declares it in `destinations`, so
//!                               scheduler-host lets the step reach it)
//!   line:   "PING"             (default "PING"; a newline is added)
//!   expect: "PING"             (default: the line)
//!   fault:  testing aid, how to misbehave: "panic" (trap), "spin" (loop
//!           forever), "busy" (busy-wait on the clock for 30 s), "alloc"
//!           (allocate without bound), "recurse" (recurse without bound),
//!           "sneak" (connect to `sneak`, an address it does not declare),
//!           "hoard" (hold 100 MiB while it pings, then free it)
//!   sneak:  "127.0.0.1:9"      (with fault: sneak)

wit_bindgen::generate!({
    world: "scheduler:actions/extension-action",
    path: "../../../wit/actions",
    generate_all,
});

use exports::scheduler::actions::extension::{Guest, GuestCall};
use scheduler::actions::types::{
    ActionError, CallContext, Endpoint, ErrorKind, ExtensionRequest, Outcome, Progress,
};
use scheduler::core_libs::types::{IpSocketAddress, NetError};
use scheduler::core_libs::{dns, tcp};

struct LinePing;

/// A step's params, checked.
struct Params {
    server: Endpoint,
    line: String,
    expect: String,
    fault: Option<String>,
    sneak: Option<Endpoint>,
}

const FAULTS: [&str; 7] = [
    "panic", "spin", "busy", "alloc", "recurse", "sneak", "hoard",
];

fn params(req: &ExtensionRequest) -> Result<Params, String> {
    let v: serde_json::Value =
        serde_json::from_str(&req.params_json).map_err(|e| format!("not JSON: {e}"))?;
    let text = |name: &str| -> Result<Option<String>, String> {
        match v.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!("params.{name} must be text, not {other}")),
        }
    };
    let server = text("server")?.ok_or("params.server is required (host:port)")?;
    let server = endpoint(&server).ok_or(format!(
        "params.server {server:?} is not host:port (like 127.0.0.1:7000)"
    ))?;
    let line = text("line")?.unwrap_or_else(|| "PING".into());
    let expect = text("expect")?.unwrap_or_else(|| line.clone());
    let fault = text("fault")?;
    if let Some(f) = fault.as_deref().filter(|f| !FAULTS.contains(f)) {
        return Err(format!(
            "params.fault {f:?}: expected one of {}",
            FAULTS.join(", ")
        ));
    }
    let sneak = match text("sneak")? {
        Some(s) => Some(endpoint(&s).ok_or(format!("params.sneak {s:?} is not host:port"))?),
        None => None,
    };
    if let Some(k) = v.as_object().and_then(|o| {
        o.keys()
            .find(|k| !["server", "line", "expect", "fault", "sneak"].contains(&k.as_str()))
    }) {
        return Err(format!(
            "unknown param {k:?} (known: server, line, expect, fault, sneak)"
        ));
    }
    Ok(Params {
        server,
        line,
        expect,
        fault,
        sneak,
    })
}

/// "host:port" or "[v6]:port".
fn endpoint(text: &str) -> Option<Endpoint> {
    let (host, port) = text.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.parse().ok().filter(|p| *p != 0)?;
    (!host.is_empty()).then(|| Endpoint {
        host: host.to_string(),
        port,
    })
}

impl Guest for LinePing {
    type Call = Call;

    fn kinds() -> Vec<String> {
        vec!["line-ping".to_string()]
    }

    fn validate(req: ExtensionRequest) -> Result<(), String> {
        params(&req).map(drop)
    }

    fn destinations(req: ExtensionRequest) -> Vec<Endpoint> {
        params(&req).map(|p| vec![p.server]).unwrap_or_default()
    }
}

/// One step. The simplest way to write a call: do all of it, blocking on
/// core-libs' sockets, in the first `advance`. The scheduler's other users
/// in this instance wait meanwhile; an action that should not hold them up
/// uses core-libs' non-blocking calls and returns `progress::waiting` with
/// the pollable it waits on (as the built-in actions do).
struct Call(std::cell::RefCell<Option<(CallContext, ExtensionRequest)>>);

impl GuestCall for Call {
    fn new(ctx: CallContext, req: ExtensionRequest) -> Self {
        Call(std::cell::RefCell::new(Some((ctx, req))))
    }

    fn advance(&self) -> Progress {
        let Some((ctx, req)) = self.0.borrow_mut().take() else {
            let mut out = execute_nothing();
            out.error = Some(err(ErrorKind::Other, "advance called on a finished call"));
            return Progress::Done(out);
        };
        Progress::Done(execute(&ctx, &req))
    }
}

fn execute_nothing() -> Outcome {
    Outcome {
        status: None,
        bytes_sent: 0,
        bytes_received: 0,
        error: None,
        phases: None,
        tls: None,
        earlier: Vec::new(),
        // Answers no queries: steps of this kind extract nothing.
        answers: Vec::new(),
        // Not HTTP, and no body is kept.
        http_version: None,
        body_cut: None,
        // Not a gRPC call, and nothing to trace.
        grpc: None,
        ws: None,
        trace: None,
    }
}

fn execute(ctx: &CallContext, req: &ExtensionRequest) -> Outcome {
    {
        let mut out = execute_nothing();
        if let Err(e) = ping(ctx, req, &mut out) {
            out.error = Some(e);
        }
        out
    }
}

fn err(kind: ErrorKind, message: impl Into<String>) -> ActionError {
    ActionError {
        kind,
        message: message.into(),
    }
}

fn ping(ctx: &CallContext, req: &ExtensionRequest, out: &mut Outcome) -> Result<(), ActionError> {
    let p = params(req).map_err(|m| err(ErrorKind::BadParams, m))?;
    match p.fault.as_deref() {
        Some("panic") => panic!("line-ping: fault injection asked for a panic"),
        Some("spin") => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        Some("busy") => {
            let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while std::time::Instant::now() < until {}
        }
        Some("alloc") => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        Some("recurse") => {
            std::hint::black_box(recurse(std::hint::black_box(1)));
        }
        _ => {}
    }
    // 100 MiB in one allocation, touched, held for the ping.
    let _hoard = (p.fault.as_deref() == Some("hoard")).then(|| {
        let mut v = vec![0u8; 100 << 20];
        v.iter_mut().step_by(4096).for_each(|b| *b = 1);
        std::hint::black_box(v)
    });
    let server = match (p.fault.as_deref(), &p.sneak) {
        (Some("sneak"), Some(elsewhere)) => elsewhere,
        _ => &p.server,
    };
    let name = format!("{}:{}", server.host, server.port);
    let address = dns::resolve(&server.host)
        .map_err(|e| net(e, &name))?
        .remove(0);
    let addr = IpSocketAddress {
        address,
        port: server.port,
    };
    let conn = tcp::connect(addr, ctx.source_ip, ctx.timeout).map_err(|e| net(e, &name))?;
    let payload = format!("{}\n", p.line);
    conn.write(payload.as_bytes(), ctx.timeout)
        .map_err(|e| net(e, &name))?;
    out.bytes_sent = payload.len() as u64;
    let mut got = Vec::new();
    while !got.contains(&b'\n') {
        let chunk = conn.read(4096, ctx.timeout).map_err(|e| net(e, &name))?;
        if chunk.is_empty() {
            break;
        }
        out.bytes_received += chunk.len() as u64;
        got.extend_from_slice(&chunk);
    }
    let reply = String::from_utf8_lossy(&got);
    if !reply.contains(&p.expect) {
        return Err(err(
            ErrorKind::CheckFailed,
            format!("expected {:?} in reply {reply:?}", p.expect),
        ));
    }
    Ok(())
}

/// Recursion that never ends (each frame keeps a little stack alive).
#[allow(unconditional_recursion)]
fn recurse(n: u64) -> u64 {
    let frame = std::hint::black_box([n; 16]);
    recurse(frame[3].wrapping_add(1)).wrapping_add(frame[7])
}

fn net(e: NetError, target: &str) -> ActionError {
    let kind = match e {
        NetError::Timeout => ErrorKind::Timeout,
        NetError::ConnectionRefused => ErrorKind::ConnectRefused,
        NetError::ConnectionReset => ErrorKind::ConnectionReset,
        NetError::AccessDenied(_) => ErrorKind::EgressDenied,
        NetError::AddressNotBindable(_) => ErrorKind::AddressNotBindable,
        NetError::NameUnresolvable(_) => ErrorKind::NameUnresolvable,
        _ => ErrorKind::Other,
    };
    err(kind, format!("{target}: {e:?}"))
}

export!(LinePing);
