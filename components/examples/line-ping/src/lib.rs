//! `line-ping`: a new step type for the extension slot. It sends one line
//! to a TCP server and expects the reply to contain `expect` (default: the
//! line itself, as from an echo server), through core-libs' sockets.
//!
//! Step params (JSON from the scenario's YAML):
//!   target: "127.0.0.1:7000"   (required; also tells the host where egress goes)
//!   line:   "PING"             (default "PING"; a newline is added)
//!   expect: "PING"             (default: the line)
//!   fault:  "panic" | "spin"   (testing aid: trap, or loop forever until interrupted)

wit_bindgen::generate!({
    world: "scheduler:actions/extension-action",
    path: "../../../wit/actions",
    generate_all,
});

use exports::scheduler::actions::extension::Guest;
use scheduler::actions::types::{ActionError, CallContext, ErrorKind, ExtensionRequest, Outcome};
use scheduler::core_libs::{dns, tcp};

struct LinePing;

impl Guest for LinePing {
    fn kinds() -> Vec<String> {
        vec!["line-ping".to_string()]
    }

    fn execute(ctx: CallContext, req: ExtensionRequest) -> Outcome {
        let mut out = Outcome { status: None, bytes_sent: 0, bytes_received: 0, error: None };
        if let Err(e) = ping(&ctx, &req, &mut out) {
            out.error = Some(e);
        }
        out
    }
}

fn err(kind: ErrorKind, message: impl Into<String>) -> ActionError {
    ActionError { kind, message: message.into() }
}

fn ping(ctx: &CallContext, req: &ExtensionRequest, out: &mut Outcome) -> Result<(), ActionError> {
    let params: serde_json::Value =
        serde_json::from_str(&req.params_json).map_err(|e| err(ErrorKind::BadParams, e.to_string()))?;
    match params.get("fault").and_then(|f| f.as_str()) {
        Some("panic") => panic!("line-ping: fault injection asked for a panic"),
        Some("spin") => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        _ => {}
    }
    let target = params.get("target").and_then(|t| t.as_str()).ok_or_else(|| err(ErrorKind::BadParams, "params.target is required"))?;
    let line = params.get("line").and_then(|l| l.as_str()).unwrap_or("PING");
    let expect = params.get("expect").and_then(|e| e.as_str()).unwrap_or(line);
    let (host, port) = target.rsplit_once(':').ok_or_else(|| err(ErrorKind::BadParams, "target must be host:port"))?;
    let ip = dns::resolve(host).map_err(|e| err(ErrorKind::NameUnresolvable, format!("{e:?}")))?.remove(0);
    let addr = if ip.contains(':') { format!("[{ip}]:{port}") } else { format!("{ip}:{port}") };
    let conn = tcp::connect(&addr, ctx.source_ip.as_deref(), ctx.timeout_ms).map_err(|e| net(e, target))?;
    let payload = format!("{line}\n");
    conn.write(payload.as_bytes(), ctx.timeout_ms).map_err(|e| net(e, target))?;
    out.bytes_sent = payload.len() as u64;
    let mut got = Vec::new();
    while !got.contains(&b'\n') {
        let chunk = conn.read(4096, ctx.timeout_ms).map_err(|e| net(e, target))?;
        if chunk.is_empty() {
            break;
        }
        out.bytes_received += chunk.len() as u64;
        got.extend_from_slice(&chunk);
    }
    let reply = String::from_utf8_lossy(&got);
    if !reply.contains(expect) {
        return Err(err(ErrorKind::CheckFailed, format!("expected {expect:?} in reply {reply:?}")));
    }
    Ok(())
}

fn net(e: scheduler::core_libs::types::NetError, target: &str) -> ActionError {
    use scheduler::core_libs::types::NetError as N;
    let kind = match e {
        N::Timeout => ErrorKind::Timeout,
        N::ConnectionRefused => ErrorKind::ConnectRefused,
        N::ConnectionReset => ErrorKind::ConnectionReset,
        N::AccessDenied => ErrorKind::EgressDenied,
        N::AddressNotBindable(_) => ErrorKind::AddressNotBindable,
        _ => ErrorKind::Other,
    };
    err(kind, format!("{target}: {e:?}"))
}

export!(LinePing);
