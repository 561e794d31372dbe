use crate::CoreLibs;
use crate::addr::{family, parse_ip, to_wasi};
use crate::error::from_code;
use crate::exports::scheduler::core_libs::addresses::Guest;
use crate::exports::scheduler::core_libs::types::NetError;
use std::net::SocketAddr;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::network::ErrorCode;
use wasip2::sockets::udp_create_socket::create_udp_socket;

impl Guest for CoreLibs {
    fn check_local(ip: String) -> Result<(), NetError> {
        let addr = parse_ip(&ip)?;
        let socket = create_udp_socket(family(addr)).map_err(from_code)?;
        socket
            .start_bind(&instance_network(), to_wasi(SocketAddr::new(addr, 0)))
            .map_err(from_code)?;
        loop {
            match socket.finish_bind() {
                Ok(()) => return Ok(()),
                Err(ErrorCode::WouldBlock) => socket.subscribe().block(),
                Err(ErrorCode::AddressNotBindable) => {
                    return Err(NetError::AddressNotBindable(format!(
                        "{ip} is not an address of this machine"
                    )));
                }
                Err(e) => return Err(from_code(e)),
            }
        }
    }
}
