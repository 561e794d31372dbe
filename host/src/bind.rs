//! Source ports chosen at connect, not at bind. Each user's socket is bound
//! to its source IP (`ip_pool`) with port 0 before it connects. Linux then
//! picks the port at bind time, when it cannot know the destination: it
//! scans the ephemeral range for a port no other socket on that address
//! holds, a search that grows with the sockets already bound: with tens of
//! thousands of users, the kernel's bind conflict checks led the profile
//! (docs/src/performance.md). `IP_BIND_ADDRESS_NO_PORT` (Linux 4.2)
//! defers the choice to connect, where the four-tuple is known and a port
//! may be shared across destinations, as load balancers do.
//!
//! The sockets are made inside wasmtime-wasi, which offers no hook before
//! its bind call, so the host binary provides `bind` itself: calls from the
//! process's own code (tokio, socket2) resolve here before libc's. Only a
//! TCP socket bound to a specific address with port 0 is changed; every
//! bind then goes to the kernel unchanged.

use libc::{c_int, sockaddr, socklen_t};

/// # Safety
/// As libc's `bind`: `addr` points to `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    // SAFETY: the caller's contract is bind(2)'s.
    unsafe {
        if port_left_to_connect(fd, addr, len) {
            let on: c_int = 1;
            // Best effort: on failure the kernel picks the port at bind.
            libc::setsockopt(
                fd,
                libc::IPPROTO_IP,
                libc::IP_BIND_ADDRESS_NO_PORT,
                (&on as *const c_int).cast(),
                size_of::<c_int>() as socklen_t,
            );
        }
        libc::syscall(libc::SYS_bind, fd, addr, len) as c_int
    }
}

/// A TCP socket bound to a specific address with port 0.
///
/// # Safety
/// `addr` points to `len` readable bytes.
unsafe fn port_left_to_connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> bool {
    if addr.is_null() {
        return false;
    }
    let mut kind: c_int = 0;
    let mut kind_len = size_of::<c_int>() as socklen_t;
    // SAFETY: getsockopt writes at most `kind_len` bytes into `kind`; the
    // sockaddr reads stay within `len`, checked against each type's size.
    unsafe {
        if libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut kind as *mut c_int).cast(),
            &mut kind_len,
        ) != 0
            || kind != libc::SOCK_STREAM
        {
            return false;
        }
        match c_int::from((*addr).sa_family) {
            libc::AF_INET if len as usize >= size_of::<libc::sockaddr_in>() => {
                let a = &*addr.cast::<libc::sockaddr_in>();
                a.sin_port == 0 && a.sin_addr.s_addr != libc::INADDR_ANY
            }
            libc::AF_INET6 if len as usize >= size_of::<libc::sockaddr_in6>() => {
                let a = &*addr.cast::<libc::sockaddr_in6>();
                a.sin6_port == 0 && a.sin6_addr.s6_addr != [0; 16]
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::{SocketAddr, TcpListener};

    /// wasmtime-wasi binds through tokio's `TcpSocket`: that path must
    /// reach the `bind` above, and the connection must still leave from the
    /// address it was bound to.
    #[tokio::test]
    async fn a_socket_bound_to_a_source_ip_gets_its_port_at_connect() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = server.local_addr().unwrap();
        let source: SocketAddr = "127.0.0.3:0".parse().unwrap();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(source).unwrap();
        // Bound, but no port yet: the kernel picks it at connect.
        assert_eq!(socket.local_addr().unwrap(), source);
        let stream = socket.connect(to).await.unwrap();
        let local = stream.local_addr().unwrap();
        assert_eq!(local.ip(), source.ip());
        assert_ne!(local.port(), 0);
        let (mut seen, peer) = server.accept().unwrap();
        assert_eq!(peer, local);
        drop(stream);
        assert_eq!(seen.read(&mut [0; 1]).unwrap(), 0);
    }

    #[test]
    fn a_listener_bound_to_port_zero_still_gets_a_port() {
        let l = TcpListener::bind("127.0.0.2:0").unwrap();
        assert_ne!(l.local_addr().unwrap().port(), 0);
    }
}
