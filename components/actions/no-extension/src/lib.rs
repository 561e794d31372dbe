//! The default filler of the extension slot: it handles no kinds, so the
//! scheduler rejects any step type beyond http/tcp/udp at validation. A
//! third-party component exporting `scheduler:actions/extension` replaces it.

use action_support::types::{CallContext, Endpoint, ErrorKind, ExtensionRequest, Progress};
use action_support::{fail, outcome};

wit_bindgen::generate!({
    inline: "
        package scheduler:no-extension;
        world no-extension {
            export scheduler:actions/extension@0.9.0;
        }
    ",
    path: "../../../wit/actions",
    with: {
        "scheduler:core-libs/types@0.4.0": action_support::net,
        "scheduler:actions/types@0.9.0": action_support::types,
        "scheduler:actions/extension@0.9.0": generate,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
    },
});

struct NoExtension;

impl exports::scheduler::actions::extension::Guest for NoExtension {
    type Call = Call;

    fn kinds() -> Vec<String> {
        Vec::new()
    }

    fn validate(req: ExtensionRequest) -> Result<(), String> {
        Err(format!(
            "no extension component handles step type {:?}",
            req.kind
        ))
    }

    fn destinations(_: ExtensionRequest) -> Vec<Endpoint> {
        Vec::new()
    }
}

/// Unreachable through the scheduler (it validates kinds), but a direct
/// caller still gets a clear step error rather than a trap.
struct Call(String);

impl exports::scheduler::actions::extension::GuestCall for Call {
    fn new(_: CallContext, req: ExtensionRequest) -> Self {
        Call(req.kind)
    }

    fn advance(&self) -> Progress {
        let why = format!("no extension component handles step type {:?}", self.0);
        Progress::Done(outcome(None, 0, 0, Err(fail(ErrorKind::Unsupported, why))))
    }
}

export!(NoExtension);
