//! TCP: create, bind to the source IP, connect, read and write with deadlines.

use crate::CoreLibs;
use crate::addr::{family, from_wasi, parse_ip, parse_socket, to_wasi};
use crate::deadline::Deadline;
use crate::error::{from_code, from_stream};
use crate::exports::scheduler::core_libs::tcp::{Connection, Guest, GuestConnection};
use crate::exports::scheduler::core_libs::types::NetError;
use std::net::SocketAddr;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::{ErrorCode, Network};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

/// Field order matters: the streams are children of the socket and must be
/// dropped before it.
pub struct TcpConnection {
    input: InputStream,
    output: OutputStream,
    socket: TcpSocket,
}

impl Guest for CoreLibs {
    type Connection = TcpConnection;

    fn connect(
        target: String,
        source_ip: Option<String>,
        timeout_ms: u32,
    ) -> Result<Connection, NetError> {
        let target = parse_socket(&target)?;
        let deadline = Deadline::after_ms(timeout_ms);
        let network = instance_network();
        let socket = create_tcp_socket(family(target.ip())).map_err(from_code)?;
        if let Some(source) = source_ip {
            bind(&socket, &network, &source, target, &deadline)?;
        }
        socket
            .start_connect(&network, to_wasi(target))
            .map_err(from_code)?;
        let (input, output) = loop {
            match socket.finish_connect() {
                Ok(streams) => break streams,
                Err(ErrorCode::WouldBlock) => deadline.wait(&socket.subscribe())?,
                Err(e) => return Err(from_code(e)),
            }
        };
        Ok(Connection::new(TcpConnection {
            input,
            output,
            socket,
        }))
    }
}

/// Binds to `source`:0 so the peer sees this virtual user's address.
fn bind(
    socket: &TcpSocket,
    network: &Network,
    source: &str,
    target: SocketAddr,
    deadline: &Deadline,
) -> Result<(), NetError> {
    let ip = parse_ip(source)?;
    if ip.is_ipv4() != target.is_ipv4() {
        return Err(NetError::InvalidArgument(format!(
            "source {ip} and target {target} are of different IP families"
        )));
    }
    socket
        .start_bind(network, to_wasi(SocketAddr::new(ip, 0)))
        .map_err(|e| bind_error(e, source))?;
    loop {
        match socket.finish_bind() {
            Ok(()) => return Ok(()),
            Err(ErrorCode::WouldBlock) => deadline.wait(&socket.subscribe())?,
            Err(e) => return Err(bind_error(e, source)),
        }
    }
}

fn bind_error(code: ErrorCode, source: &str) -> NetError {
    match from_code(code) {
        NetError::AddressNotBindable(why) => {
            NetError::AddressNotBindable(format!("{source}: {why}"))
        }
        other => other,
    }
}

impl GuestConnection for TcpConnection {
    fn write(&self, data: Vec<u8>, timeout_ms: u32) -> Result<(), NetError> {
        let deadline = Deadline::after_ms(timeout_ms);
        let mut rest = &data[..];
        while !rest.is_empty() {
            let permit = self.output.check_write().map_err(from_stream)?;
            if permit == 0 {
                deadline.wait(&self.output.subscribe())?;
                continue;
            }
            let n = rest
                .len()
                .min(usize::try_from(permit).unwrap_or(usize::MAX));
            self.output.write(&rest[..n]).map_err(from_stream)?;
            rest = &rest[n..];
        }
        self.output.flush().map_err(from_stream)?;
        // check-write reports completion of the flush (or its failure).
        loop {
            match self.output.check_write() {
                Ok(0) => deadline.wait(&self.output.subscribe())?,
                Ok(_) => return Ok(()),
                Err(e) => return Err(from_stream(e)),
            }
        }
    }

    fn read(&self, max: u32, timeout_ms: u32) -> Result<Vec<u8>, NetError> {
        let deadline = Deadline::after_ms(timeout_ms);
        loop {
            match self.input.read(u64::from(max.max(1))) {
                Ok(bytes) if !bytes.is_empty() => return Ok(bytes),
                Ok(_) => deadline.wait(&self.input.subscribe())?,
                Err(StreamError::Closed) => return Ok(Vec::new()),
                Err(e) => return Err(from_stream(e)),
            }
        }
    }

    fn local_address(&self) -> String {
        self.socket
            .local_address()
            .map(|a| from_wasi(a).to_string())
            .unwrap_or_default()
    }
}
