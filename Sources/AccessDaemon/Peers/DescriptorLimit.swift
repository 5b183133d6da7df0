import AccessStore
#if canImport(Glibc)
    import Glibc
#endif

/// The process's limit on open descriptors (RLIMIT_NOFILE), which bounds the
/// connections the daemon can hold. systemd starts services with a soft
/// limit of 1024 and a much higher hard one (the unit sets `LimitNOFILE=`);
/// the daemon raises the soft limit to the hard one at start, and keeps
/// `reserved` descriptors for itself (journal, snapshots, the listener, the
/// event loops), so that a peer over the limit is refused with a frame rather
/// than left hanging in accept.
enum DescriptorLimit {
    /// Descriptors the daemon keeps for its own files besides connections.
    static let reserved = 64

    /// Raises the soft limit to the hard limit; returns the soft limit now in force.
    @discardableResult
    static func raiseSoftLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur == rlim_t.max ? Int.max : Int(clamping: limit.rlim_cur)
    }

    /// The connections the limit leaves room for.
    static func connections(softLimit: Int) -> Int { max(1, softLimit - reserved) }
}
