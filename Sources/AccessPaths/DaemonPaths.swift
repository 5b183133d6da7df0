#if canImport(Glibc)
    import Glibc
#endif

/// Where the socket and the state live (docs/protocol.md, "Where things are"):
/// a flag wins, then the environment (`ACCESSD_SOCKET`, `ACCESSD_STATE_DIR`),
/// then the config file (`socket`, `state_dir`), then systemd's `$RUNTIME_DIRECTORY` / `$STATE_DIRECTORY`, then the XDG
/// defaults `$XDG_RUNTIME_DIR/accessd/accessd.sock` and `$XDG_STATE_HOME/accessd`
/// (`~/.local/state/accessd`). The bundled client finds the socket the same way.
package enum DaemonPaths {
    package static func socketPath(flag: String?, environment: [String: String], file: ConfigFile? = nil) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let path = environment["ACCESSD_SOCKET"], !path.isEmpty { return path }
        if let path = file?[.socket], !path.isEmpty { return path }
        if let directory = firstOf(environment["RUNTIME_DIRECTORY"]) { return directory + "/accessd.sock" }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return runtime + "/accessd/accessd.sock" }
        let uid = environment["UID"] ?? String(getuid())
        return "/tmp/accessd-\(uid)/accessd.sock"
    }

    package static func stateDirectory(flag: String?, environment: [String: String], file: ConfigFile? = nil) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let path = environment["ACCESSD_STATE_DIR"], !path.isEmpty { return path }
        if let path = file?[.stateDir], !path.isEmpty { return path }
        if let directory = firstOf(environment["STATE_DIRECTORY"]) { return directory }
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty { return state + "/accessd" }
        return (environment["HOME"] ?? "/tmp") + "/.local/state/accessd"
    }

    /// systemd passes colon-separated lists when a unit names several directories.
    private static func firstOf(_ list: String?) -> String? {
        guard let list, let first = list.split(separator: ":").first, !first.isEmpty else { return nil }
        return String(first)
    }
}

extension DaemonPaths {
    /// The config file: `--config`, else `$ACCESSD_CONFIG`, else
    /// `$XDG_CONFIG_HOME/accessd/accessd.conf` or `/etc/accessd/accessd.conf` when they exist.
    package static func configFile(flag: String?, environment: [String: String], exists: (String) -> Bool) -> String? {
        if let flag, !flag.isEmpty { return flag }
        if let path = environment["ACCESSD_CONFIG"], !path.isEmpty { return path }
        let home = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (environment["HOME"].map { $0 + "/.config" })
        if let home, exists(home + "/accessd/accessd.conf") { return home + "/accessd/accessd.conf" }
        if exists("/etc/accessd/accessd.conf") { return "/etc/accessd/accessd.conf" }
        return nil
    }
}
