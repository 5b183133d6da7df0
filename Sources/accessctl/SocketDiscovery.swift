import AccessPaths
import Foundation

/// Finds the daemon's socket by the daemon's own rules (`DaemonPaths`): the
/// flag, `$ACCESSD_SOCKET`, the `socket =` line of the config file the daemon
/// would read, then systemd's and the XDG directories.
///
/// The config file is read only when neither the flag nor `$ACCESSD_SOCKET`
/// names the socket. Then a file that cannot be read or does not parse (a
/// line without `key = value`, a key accessd does not know) is an error, not
/// a reason to guess another socket: the daemon refuses that file too, so no
/// daemon listens where the file says, nor where the guess would go. A key
/// accessd knows but accessctl does not use is no error.
enum SocketDiscovery {
    /// What is wrong with the config file, said so that a person can fix it.
    struct ConfigProblem: Error, CustomStringConvertible {
        var description: String
    }

    static func socketPath(flag: String?, environment: [String: String]) throws(ConfigProblem) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let path = environment["ACCESSD_SOCKET"], !path.isEmpty { return path }
        var file: ConfigFile?
        if let path = DaemonPaths.configFile(
            flag: nil,
            environment: environment,
            exists: { FileManager.default.fileExists(atPath: $0) }
        ) {
            let elsewhere = "or name the socket with --socket or $ACCESSD_SOCKET"
            do {
                file = try ConfigFile(text: try ConfigFile.contents(of: path), path: path)
            } catch let error as ConfigFile.Unreadable {
                throw ConfigProblem(
                    description: "\(error) (accessctl reads accessd's config file to find the socket: "
                        + "fix its path or permissions, \(elsewhere))"
                )
            } catch {
                throw ConfigProblem(description: "\(error) (accessd refuses this file too: fix it, \(elsewhere))")
            }
        }
        return DaemonPaths.socketPath(flag: nil, environment: environment, file: file)
    }
}
