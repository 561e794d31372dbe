//! A gRPC server in test code (tonic, its code generated from
//! scenarios/protos), h2c or TLS, that counts what it saw: connections,
//! calls per method, NOT_FOUND answers, streamed ticks, the `x-tenant`
//! metadata and the callers' source addresses.
//!
//! `SayHello` answers "hello NAME" with a serial number (NOT_FOUND for the
//! name "missing"); `Countdown` streams `from` ticks.

use scheduler_host::loopback::Ca;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

#[allow(clippy::all)]
pub mod bar {
    pub mod greeter {
        pub mod v1 {
            tonic::include_proto!("bar.greeter.v1");
        }
    }
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("bar.common.v1");
        }
    }
}

use bar::greeter::v1::greeter_server::{Greeter, GreeterServer};
use bar::greeter::v1::{CountdownRequest, HelloReply, HelloRequest, Tick};

/// What the server saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub connections: u64,
    pub hello: u64,
    pub not_found: u64,
    pub countdowns: u64,
    pub ticks: u64,
    /// `x-tenant` metadata → calls.
    pub tenants: BTreeMap<String, u64>,
    /// Names asked for, with their `tags` and `meta.source` (in order).
    pub names: Vec<(String, Vec<String>, String)>,
    pub sources: BTreeMap<IpAddr, u64>,
}

pub struct GrpcServer {
    pub addr: SocketAddr,
    /// With TLS: the CA (PEM) its certificate (for 127.0.0.1) chains to.
    pub ca_pem: Option<String>,
    seen: Arc<Mutex<Seen>>,
}

struct Svc(Arc<Mutex<Seen>>);

impl Svc {
    fn note<T>(&self, req: &Request<T>) {
        let mut seen = self.0.lock().unwrap();
        if let Some(ip) = req.remote_addr().map(|a| a.ip()) {
            *seen.sources.entry(ip).or_default() += 1;
        }
        if let Some(t) = req.metadata().get("x-tenant") {
            let t = t.to_str().unwrap_or("?").to_string();
            *seen.tenants.entry(t).or_default() += 1;
        }
    }
}

#[tonic::async_trait]
impl Greeter for Svc {
    async fn say_hello(&self, req: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        self.note(&req);
        let tenant = req
            .metadata()
            .get("x-tenant")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let r = req.into_inner();
        let mut seen = self.0.lock().unwrap();
        let source = r.meta.map(|m| m.source).unwrap_or_default();
        seen.names.push((r.name.clone(), r.tags.clone(), source));
        if r.name == "missing" {
            seen.not_found += 1;
            return Err(Status::not_found("no user named missing"));
        }
        seen.hello += 1;
        Ok(Response::new(HelloReply {
            message: format!("hello {}", r.name).repeat(r.times.max(1) as usize),
            serial: seen.hello as i64,
            tags: r.tags,
            tenant,
        }))
    }

    type CountdownStream = Pin<Box<dyn Stream<Item = Result<Tick, Status>> + Send>>;

    async fn countdown(
        &self,
        req: Request<CountdownRequest>,
    ) -> Result<Response<Self::CountdownStream>, Status> {
        self.note(&req);
        let from = req.into_inner().from.max(0);
        {
            let mut seen = self.0.lock().unwrap();
            seen.countdowns += 1;
            seen.ticks += from as u64;
        }
        let ticks = tokio_stream::iter((1..=from).rev().map(|left| Ok(Tick { left })));
        Ok(Response::new(Box::pin(ticks)))
    }
}

impl GrpcServer {
    /// Serves on a port of 127.0.0.1 until the test process ends; with
    /// `tls`, over TLS (ALPN h2) with a certificate from a CA made now.
    pub fn start(tls: bool) -> GrpcServer {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Arc::clone(&seen);
        let (ca_pem, identity) = match tls {
            false => (None, None),
            true => {
                let ca = Ca::new("grpc test CA").unwrap();
                let leaf = ca.leaf(&["127.0.0.1"], false).unwrap();
                let id = tonic::transport::Identity::from_pem(leaf.cert_pem, leaf.key_pem);
                (Some(ca.pem.clone()), Some(id))
            }
        };
        let addr = crate::serve_tokio(move |listener| async move {
            let counted = Arc::clone(&shared);
            let incoming =
                tokio_stream::wrappers::TcpListenerStream::new(listener).map(move |conn| {
                    counted.lock().unwrap().connections += 1;
                    conn
                });
            let mut server = tonic::transport::Server::builder();
            if let Some(id) = identity {
                let config = tonic::transport::ServerTlsConfig::new().identity(id);
                server = server.tls_config(config).unwrap();
            }
            server
                .add_service(GreeterServer::new(Svc(shared)))
                .serve_with_incoming(incoming)
                .await
                .unwrap();
        });
        GrpcServer { addr, ca_pem, seen }
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().unwrap().clone()
    }
}
