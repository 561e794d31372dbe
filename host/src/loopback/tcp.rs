//! TCP echo: every byte received is sent back; one hit per connection.

use super::Counters;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub fn serve(
    addr: SocketAddr,
    seen: Arc<Counters>,
    stop: Arc<AtomicBool>,
) -> io::Result<SocketAddr> {
    super::accept_loop(addr, seen, stop, Arc::new(echo))
}

fn echo(mut conn: TcpStream, seen: &Counters) -> io::Result<()> {
    seen.hit(conn.peer_addr()?.ip());
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
