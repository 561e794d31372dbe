//! UDP echo: every datagram is sent back to its sender.

use super::{Counters, stopped};
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub fn serve(
    addr: SocketAddr,
    seen: Arc<Counters>,
    stop: Arc<AtomicBool>,
) -> io::Result<SocketAddr> {
    let socket = UdpSocket::bind(addr)?;
    let local = socket.local_addr()?;
    // A read timeout lets the loop notice `stop`.
    socket.set_read_timeout(Some(Duration::from_millis(200)))?;
    std::thread::spawn(move || {
        let mut buf = [0u8; 65_536];
        while !stopped(&stop) {
            if let Ok((n, from)) = socket.recv_from(&mut buf) {
                seen.hit(from.ip());
                let _ = socket.send_to(&buf[..n], from);
            }
        }
    });
    Ok(local)
}
