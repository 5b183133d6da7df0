/// Finds the daemon's socket by the daemon's own rules (spec/protocol.md,
/// "Where things are"): `--socket`, else `$ACCESSD_SOCKET`, else
/// `$RUNTIME_DIRECTORY/accessd.sock`, else `$XDG_RUNTIME_DIR/accessd/accessd.sock`,
/// else `/tmp/accessd-$UID/accessd.sock`. Kept in step with `DaemonPaths.socketPath`.
enum SocketDiscovery {
    static func socketPath(flag: String?, environment: [String: String]) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let path = environment["ACCESSD_SOCKET"], !path.isEmpty { return path }
        if let list = environment["RUNTIME_DIRECTORY"], let first = list.split(separator: ":").first, !first.isEmpty {
            return first + "/accessd.sock"
        }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { return runtime + "/accessd/accessd.sock" }
        return "/tmp/accessd-\(environment["UID"] ?? "user")/accessd.sock"
    }
}
