//! The imported action slots behind the workflow's `Actions`, and each
//! user's TLS clients.

use super::bindings::scheduler::actions::{extension, grpc, http, tcp, types as t, udp, ws};
use super::bindings::scheduler::core_libs::tls;
use super::convert::{ctx, wit_endpoint, wit_query, wit_tls_version};
use super::poll::finish;
use crate::workflow::{Actions, CallContext};
use contract::{ErrorKind, Outcome, SampleError};
use scenario::checks::Query;
use scenario::grpc::GrpcCall;
use scenario::model::{HttpCall, ReadMode, Scenario, TcpCall, UdpCall};
use scenario::tls::TlsMaterial;
use scenario::ws::WsCall;
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

/// The imported action slots, and each user's TLS clients: made on a
/// user's first step that needs one, never shared between users (a
/// client's session cache is what resumption draws on).
pub struct Slots {
    material: Vec<TlsMaterial>,
    /// (user, index into `material`) → client.
    clients: RefCell<std::collections::BTreeMap<(u32, usize), Rc<tls::Client>>>,
    /// Each grpc step's proto compiled, by its path: once per instance.
    schemas: RefCell<std::collections::BTreeMap<String, Rc<grpc::Schema>>>,
    /// The calls waiting on the network, by task (`Reactor`).
    pub(super) parked: super::poll::Parked,
}

impl Slots {
    pub fn new(material: Vec<TlsMaterial>) -> Self {
        Slots {
            material,
            clients: Default::default(),
            schemas: Default::default(),
            parked: Default::default(),
        }
    }

    /// Builds one client per configuration (then drops them): what core-libs
    /// refuses (a key that does not match its certificate, a key type rustls
    /// does not sign with) fails validation instead of every user's steps.
    pub fn check_tls(&self) -> Result<(), String> {
        for i in 0..self.material.len() {
            if let Err(o) = self.client(u32::MAX, Some(i)) {
                let why = o.error.map(|e| e.message).unwrap_or_default();
                let files: Vec<&str> = self.material[i].config.files().collect();
                return Err(format!("scenario file {}: {why}", files.join(", ")));
            }
        }
        self.clients.borrow_mut().clear();
        Ok(())
    }

    /// Compiles each grpc step's proto and checks its method and message,
    /// before any traffic; the error names the step's field.
    pub fn check_grpc(&self, scenario: &Scenario) -> Result<(), String> {
        for (i, step) in scenario.workflow.iter().enumerate() {
            let scenario::model::Call::Grpc(g) = &step.call else {
                continue;
            };
            let at = format!("scenario field {}.params", scenario.step_field(i));
            let schema = self.schema(g).map_err(|e| format!("{at}.proto: {e}"))?;
            schema
                .check(&g.method, &g.message)
                .map_err(|e| format!("{at}.{e}"))?;
        }
        Ok(())
    }

    /// The compiled schema of `g`'s proto (compiled on first use).
    fn schema(&self, g: &GrpcCall) -> Result<Rc<grpc::Schema>, String> {
        if let Some(s) = self.schemas.borrow().get(&g.proto) {
            return Ok(Rc::clone(s));
        }
        let files: Vec<t::ProtoFile> = g
            .protos
            .iter()
            .map(|p| t::ProtoFile {
                name: p.name.clone(),
                source: p.source.clone(),
            })
            .collect();
        let main = g.protos.first().map_or("", |p| p.name.as_str());
        // The action names a file as imports do; the scenario's reader
        // knows it by its path.
        let schema = grpc::Schema::compile(&files, main).map_err(|e| {
            match g
                .protos
                .iter()
                .find(|p| e.starts_with(&format!("{}:", p.name)))
            {
                Some(p) => format!("{}{}", p.path, &e[p.name.len()..]),
                None => e,
            }
        })?;
        let schema = Rc::new(schema);
        self.schemas
            .borrow_mut()
            .insert(g.proto.clone(), Rc::clone(&schema));
        Ok(schema)
    }

    /// The user's client for TLS configuration `config`; a client the
    /// settings cannot make fails the step (boxed: it is the rare path).
    pub(super) fn client(
        &self,
        vu: u32,
        config: Option<usize>,
    ) -> Result<Option<Rc<tls::Client>>, Box<Outcome>> {
        let Some(i) = config else { return Ok(None) };
        if !self.clients.borrow().contains_key(&(vu, i)) {
            let m = &self.material[i];
            let client = tls::Client::create(&tls::ClientConfig {
                extra_roots_pem: m.ca_pem.clone(),
                skip_verify: m.config.insecure_skip_verify,
                server_name: m.config.server_name.clone(),
                client_cert_pem: m.client_cert_pem.clone(),
                client_key_pem: m.client_key_pem.clone(),
                versions: m
                    .config
                    .versions
                    .iter()
                    .map(|v| wit_tls_version(*v))
                    .collect(),
            })
            .map_err(|message| {
                Box::new(Outcome {
                    error: Some(SampleError {
                        kind: ErrorKind::Tls,
                        message: format!("TLS settings: {message}"),
                    }),
                    ..Outcome::default()
                })
            })?;
            self.clients.borrow_mut().insert((vu, i), Rc::new(client));
        }
        Ok(self.clients.borrow().get(&(vu, i)).cloned())
    }
}

impl Actions for Slots {
    async fn http(&self, c: &CallContext, call: Cow<'_, HttpCall>, queries: &[Query]) -> Outcome {
        let mut call = call.into_owned();
        let body = match call.wire_body() {
            Ok(body) => body,
            Err(message) => return bad_params(message),
        };
        let HttpCall {
            method,
            url,
            headers,
            expect_body,
            max_body,
            tls,
            max_redirects,
            cookies,
            http_version,
            proxy,
            digest,
            ..
        } = call;
        let req = t::HttpRequest {
            method,
            url,
            headers,
            body,
            expect_body,
            max_body,
            max_redirects,
            cookies,
            queries: queries.iter().map(wit_query).collect(),
            version: http_version.map(super::convert::wit_http_version),
            proxy,
            digest: digest.map(|(user, password)| t::Credentials { user, password }),
            trace: c.trace,
        };
        let call = match self.client(c.vu, tls) {
            Ok(client) => http::Call::new(ctx(c), &req, client.as_deref()),
            Err(failed) => return *failed,
        };
        finish(|| call.advance()).await
    }

    async fn tcp(&self, c: &CallContext, call: Cow<'_, TcpCall>) -> Outcome {
        let tls = call.tls;
        let call = call.into_owned();
        let read = match call.read {
            ReadMode::None => t::ReadMode::None,
            ReadMode::Bytes(n) => t::ReadMode::Bytes(n),
            ReadMode::Delimiter(d) => t::ReadMode::Delimiter(d),
            ReadMode::UntilClose => t::ReadMode::UntilClose,
        };
        let req = t::TcpRequest {
            target: wit_endpoint(&call.target),
            payload: call.payload,
            read,
            expect: call.expect,
            max_read: call.max_read,
        };
        let call = match self.client(c.vu, tls) {
            Ok(client) => tcp::Call::new(ctx(c), &req, client.as_deref()),
            Err(failed) => return *failed,
        };
        finish(|| call.advance()).await
    }

    async fn udp(&self, c: &CallContext, call: Cow<'_, UdpCall>) -> Outcome {
        let call = call.into_owned();
        let req = t::UdpRequest {
            target: wit_endpoint(&call.target),
            payload: call.payload,
            await_reply: call.await_reply,
            expect: call.expect,
        };
        let call = udp::Call::new(ctx(c), &req);
        finish(|| call.advance()).await
    }

    async fn grpc(&self, c: &CallContext, call: Cow<'_, GrpcCall>, queries: &[Query]) -> Outcome {
        let schema = match self.schema(&call) {
            Ok(s) => s,
            Err(message) => return bad_params(message),
        };
        let g = call.into_owned();
        let req = t::GrpcRequest {
            target: wit_endpoint(&g.target),
            method: g.method,
            message_json: g.message,
            metadata: g.metadata,
            expect_status: g.expect_status,
            expect_messages: g.expect_messages,
            max_body: g.max_body,
            queries: queries.iter().map(wit_query).collect(),
            tls: g.tls.is_some(),
        };
        let call = match self.client(c.vu, g.tls) {
            Ok(client) => grpc::Call::new(ctx(c), &req, &schema, client.as_deref()),
            Err(failed) => return *failed,
        };
        finish(|| call.advance()).await
    }

    async fn ws(&self, c: &CallContext, call: Cow<'_, WsCall>, queries: &[Query]) -> Outcome {
        let w = call.into_owned();
        let tls = w.tls;
        let req = super::convert::wit_ws_request(w, queries);
        let call = match self.client(c.vu, tls) {
            Ok(client) => ws::Call::new(ctx(c), &req, client.as_deref()),
            Err(failed) => return *failed,
        };
        finish(|| call.advance()).await
    }

    async fn extension(
        &self,
        c: &CallContext,
        kind: &str,
        params_json: &str,
        queries: &[Query],
    ) -> Outcome {
        let req = t::ExtensionRequest {
            kind: kind.into(),
            params_json: params_json.into(),
            queries: queries.iter().map(wit_query).collect(),
        };
        let call = extension::Call::new(ctx(c), &req);
        finish(|| call.advance()).await
    }

    async fn script(&self, turn: crate::script::Turn) -> crate::script::Run {
        self.call_script(turn)
    }
}

/// A step the action was never asked to make: its params were bad.
fn bad_params(message: String) -> Outcome {
    Outcome {
        error: Some(SampleError {
            kind: ErrorKind::BadParams,
            message,
        }),
        ..Outcome::default()
    }
}
