import AccessPaths
import Foundation

/// Finds the daemon's socket by the daemon's own rules (`DaemonPaths`,
/// including a `socket =` line in the config file the daemon would read).
enum SocketDiscovery {
    static func socketPath(flag: String?, environment: [String: String]) -> String {
        if let flag, !flag.isEmpty { return flag }
        var file: ConfigFile?
        if let path = DaemonPaths.configFile(
            flag: nil, environment: environment, exists: { FileManager.default.fileExists(atPath: $0) }),
            let text = try? String(contentsOfFile: path, encoding: .utf8)
        {
            file = try? ConfigFile(text: text, path: path)
        }
        return DaemonPaths.socketPath(flag: nil, environment: environment, file: file)
    }
}
