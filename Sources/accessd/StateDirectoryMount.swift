import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The state directory's file system, checked before the state is loaded: a
/// read-only one (EROFS) stops the start with what to do instead of a write
/// error after the fact. Under the shipped unit every path outside
/// `StateDirectory=` is read-only (`ProtectSystem=strict`), so a `state_dir`
/// elsewhere needs a `ReadWritePaths=` drop-in.
enum StateDirectoryMount {
    /// Why accessd cannot write in `path`'s file system, or nil when it can (or
    /// nothing can be told). The directory may not exist yet: its nearest
    /// existing parent is asked (accessd would create it there).
    static func readOnlyProblem(_ path: String, environment: [String: String]) -> String? {
        var probe = path.isEmpty ? "." : path
        var status = statvfs()
        while statvfs(probe, &status) != 0 {
            guard errno == ENOENT, probe != "/", !probe.isEmpty else { return nil }
            probe = (probe as NSString).deletingLastPathComponent
            if probe.isEmpty { probe = "." }
        }
        guard status.f_flag & UInt(ST_RDONLY) != 0 else { return nil }
        let mount = probe == path ? "" : " (\(probe), where accessd would create it)"
        var message =
            "the state directory \(path) is on a read-only file system\(mount), so accessd cannot keep its journal and snapshots there"
        // systemd sets INVOCATION_ID for every unit it starts.
        if environment["INVOCATION_ID"]?.isEmpty == false {
            message +=
                ". Under systemd the unit's ProtectSystem=strict leaves only its StateDirectory= (/var/lib/accessd) writable: give it this path with a drop-in, `systemctl edit accessd` holding the two lines '[Service]' and 'ReadWritePaths=\(path)', then `systemctl restart accessd` (the README's \"Deployment (systemd)\")"
        } else {
            message += "; give state_dir (or --state-dir) a directory on a writable file system"
        }
        return message
    }
}
