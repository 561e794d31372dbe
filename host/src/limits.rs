//! The process's open-file limit: every user's kept-alive connection is a
//! file descriptor, and past the limit connects fail (EMFILE). The host
//! raises its limit to what the run needs before it starts (the soft limit
//! up to the hard one; the hard one too where it may, as root), and says
//! exactly what to raise when it cannot.

/// Raises the limit on open files toward `need`; when it stays below,
/// the one-line warning to show.
pub fn raise_open_files(need: u64) -> Option<String> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur >= need {
        return None;
    }
    // Above the hard limit only with the privilege to raise it (root);
    // otherwise up to the hard limit.
    for max in [need.max(lim.rlim_max), lim.rlim_max] {
        let raised = libc::rlimit {
            rlim_cur: need.min(max),
            rlim_max: max,
        };
        // SAFETY: as above.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
            break;
        }
    }
    (lim.rlim_cur < need).then(|| {
        format!(
            "warning: the run may hold about {need} sockets but this process may open {} files (hard limit {}); connects past it fail as too-many-files: raise it (ulimit -Hn {need}; LimitNOFILE={need} under systemd; --ulimit nofile={need} under Docker)",
            lim.rlim_cur, lim.rlim_max
        )
    })
}
