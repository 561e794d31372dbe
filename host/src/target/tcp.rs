//! TCP echo: every byte received is sent back; one hit per connection.

use super::{Counters, stopped};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub fn serve(
    addr: SocketAddr,
    seen: Arc<Counters>,
    stop: Arc<AtomicBool>,
) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if stopped(&stop) {
                break;
            }
            let Ok(conn) = conn else { continue };
            seen.connections.fetch_add(1, Ordering::Relaxed);
            if let Ok(peer) = conn.peer_addr() {
                seen.hit(peer.ip());
            }
            std::thread::spawn(move || {
                let _ = echo(conn);
            });
        }
    });
    Ok(local)
}

fn echo(mut conn: TcpStream) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        conn.write_all(&buf[..n])?;
    }
}
