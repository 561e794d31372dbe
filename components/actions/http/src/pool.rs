//! Per-instance state: resolved host names and kept-alive connections, one
//! per (target address, source IP). An instance serves one virtual user in
//! the host, so no connection is ever shared between users there.

use crate::net::Connection;
use action_support::net::NetError;
use std::cell::RefCell;
use std::collections::HashMap;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Key {
    /// "ip:port" to connect to.
    pub addr: String,
    pub source: Option<String>,
}

thread_local! {
    static IDLE: RefCell<HashMap<Key, Connection>> = RefCell::new(HashMap::new());
    static DNS: RefCell<HashMap<(String, bool), String>> = RefCell::new(HashMap::new());
}

pub fn take(key: &Key) -> Option<Connection> {
    IDLE.with(|m| m.borrow_mut().remove(key))
}

pub fn put(key: Key, conn: Connection) {
    IDLE.with(|m| m.borrow_mut().insert(key, conn));
}

/// "host:port" → "ip:port", cached for the life of the instance.
pub fn resolve(host_port: &(String, u16), source: Option<&str>) -> Result<String, NetError> {
    let (host, port) = host_port;
    let v6 = source.is_some_and(|s| s.contains(':'));
    let cached = DNS.with(|d| d.borrow().get(&(host.clone(), v6)).cloned());
    let ip = match cached {
        Some(ip) => ip,
        None => {
            let ip = action_support::resolve_host(host, source)?;
            DNS.with(|d| d.borrow_mut().insert((host.clone(), v6), ip.clone()));
            ip
        }
    };
    Ok(if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    })
}
