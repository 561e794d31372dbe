use crate::CoreLibs;
use crate::addr::{family, ip, to_wasi};
use crate::error::bind_error;
use crate::exports::scheduler::core_libs::addresses::Guest;
use crate::exports::scheduler::core_libs::types::{IpAddress, NetError};
use std::net::SocketAddr;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::ErrorCode;
use wasip2::sockets::udp_create_socket::create_udp_socket;

impl Guest for CoreLibs {
    fn check_local(addr: IpAddress) -> Result<(), NetError> {
        let local = SocketAddr::new(ip(addr), 0);
        let socket = create_udp_socket(family(local.ip())).map_err(|e| bind_error(e, local))?;
        let fail = |e: ErrorCode| bind_error(e, local);
        socket
            .start_bind(&instance_network(), to_wasi(local))
            .map_err(fail)?;
        loop {
            match socket.finish_bind() {
                Ok(()) => return Ok(()),
                Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
                Err(e) => return Err(fail(e)),
            }
        }
    }
}
