//! The grpc action: unary and server-streaming gRPC calls over HTTP/2 (h2c
//! with prior knowledge, or TLS with ALPN `h2`), on one kept-alive
//! connection per (user, target, source IP, TLS). The messages are
//! described by .proto files compiled here at run time (`protox`), and
//! built from and read back into their JSON mapping (`prost-reflect`).

mod call;
mod frame;
mod schema;

use action_support::task::Task;
use action_support::tls;
use action_support::types::{CallContext, GrpcRequest, Progress, ProtoFile};
use std::rc::Rc;

wit_bindgen::generate!({
    world: "scheduler:actions/grpc-action",
    path: "../../../wit/actions",
    with: {
        "scheduler:core-libs/types@0.4.0": action_support::net,
        "scheduler:core-libs/dns@0.4.0": action_support::dns,
        "scheduler:actions/types@0.9.0": action_support::types,
        "scheduler:core-libs/tcp@0.4.0": action_support::tcp,
        "scheduler:core-libs/tls@0.4.0": action_support::tls,
        "wasi:io/poll@0.2.12": wasip2::io::poll,
        "wasi:clocks/monotonic-clock@0.2.12": wasip2::clocks::monotonic_clock,
        "scheduler:actions/grpc@0.9.0": generate,
    },
});

use exports::scheduler::actions::grpc;

struct GrpcAction;

impl grpc::Guest for GrpcAction {
    type Schema = Schema;
    type Call = Call;
}

/// A compiled schema; calls share it.
struct Schema(Rc<schema::Schema>);

impl grpc::GuestSchema for Schema {
    fn compile(files: Vec<ProtoFile>, main: String) -> Result<grpc::Schema, String> {
        let s = schema::Schema::compile(&files, &main)?;
        Ok(grpc::Schema::new(Schema(Rc::new(s))))
    }

    fn check(&self, method: String, message_json: String) -> Result<(), String> {
        self.0.check(&method, &message_json)
    }
}

/// One step: its future, advanced by the scheduler.
struct Call(Task);

impl grpc::GuestCall for Call {
    fn new(
        ctx: CallContext,
        req: GrpcRequest,
        schema: grpc::SchemaBorrow<'_>,
        tls: Option<&tls::Client>,
    ) -> Self {
        // The call outlives the borrows: it keeps handles of its own.
        let schema = Rc::clone(&schema.get::<Schema>().0);
        let tls = tls.map(tls::Client::share);
        Call(Task::new(async move {
            call::execute(ctx, req, schema, tls).await
        }))
    }

    fn advance(&self) -> Progress {
        self.0.advance()
    }
}

export!(GrpcAction);
