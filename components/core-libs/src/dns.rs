use crate::CoreLibs;
use crate::addr::ip_text;
use crate::error::from_code;
use crate::exports::scheduler::core_libs::dns::Guest;
use crate::exports::scheduler::core_libs::types::NetError;
use std::net::IpAddr;
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::ErrorCode;

impl Guest for CoreLibs {
    fn resolve(host: String) -> Result<Vec<String>, NetError> {
        // IP literals need no lookup (and must not depend on a resolver).
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            return Ok(vec![ip.to_string()]);
        }
        let network = instance_network();
        let stream = resolve_addresses(&network, &host).map_err(from_code)?;
        let mut out = Vec::new();
        loop {
            match stream.resolve_next_address() {
                Ok(Some(ip)) => out.push(ip_text(ip)),
                Ok(None) => break,
                Err(ErrorCode::WouldBlock) => stream.subscribe().block(),
                Err(e) => return Err(from_code(e)),
            }
        }
        if out.is_empty() {
            return Err(NetError::NameUnresolvable(host));
        }
        Ok(out)
    }
}
