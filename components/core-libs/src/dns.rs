use crate::CoreLibs;
use crate::addr::{from_wasi_ip, wit_ip};
use crate::error::from_code;
use crate::exports::scheduler::core_libs::dns::Guest;
use crate::exports::scheduler::core_libs::types::{IpAddress, NetError};
use std::net::IpAddr;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::ErrorCode;

impl Guest for CoreLibs {
    fn resolve(host: String) -> Result<Vec<IpAddress>, NetError> {
        // IP literals need no lookup (and must not depend on a resolver).
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![wit_ip(ip)]);
        }
        let network = instance_network();
        let unresolvable = |code: ErrorCode| match code {
            ErrorCode::NameUnresolvable
            | ErrorCode::TemporaryResolverFailure
            | ErrorCode::PermanentResolverFailure => {
                NetError::NameUnresolvable(format!("{host}: {}", code.name()))
            }
            other => from_code(other),
        };
        let stream = resolve_addresses(&network, &host).map_err(unresolvable)?;
        let mut out = Vec::new();
        loop {
            match stream.resolve_next_address() {
                Ok(Some(ip)) => out.push(wit_ip(from_wasi_ip(ip))),
                Ok(None) => break,
                Err(ErrorCode::WouldBlock) => stream.subscribe().block(),
                Err(e) => return Err(unresolvable(e)),
            }
        }
        if out.is_empty() {
            return Err(NetError::NameUnresolvable(host));
        }
        Ok(out)
    }
}
