//! The process's open-file limit: every user's kept-alive connection is a
//! file descriptor, and past the limit connects fail (EMFILE). The host
//! raises its soft limit to the hard one before the run, and says exactly
//! what to raise when even that is too low.

/// Raises the soft limit on open files to the hard limit; when `need` is
/// above what it can reach, the one-line warning to show.
pub fn raise_open_files(need: u64) -> Option<String> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    (lim.rlim_cur < need).then(|| {
        format!(
            "warning: the run may hold about {need} sockets but this process may open {} files (hard limit {}); connects past it fail as too-many-files: raise it (ulimit -Hn {need}; LimitNOFILE={need} under systemd; --ulimit nofile={need} under Docker)",
            lim.rlim_cur, lim.rlim_max
        )
    })
}
