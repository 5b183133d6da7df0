import AccessDaemon
import AccessPaths
import Foundation
import Logging

/// Reads the configuration the same way at start and at every reload
/// (SIGHUP): flags win, then the environment, then the config file, then
/// systemd's directories and the XDG defaults.
struct ConfigurationLoader: Sendable {
    var configFlag: String?
    var socketFlag: String?
    var stateDirFlag: String?
    var adminUIDs: [UInt32]
    var adminGIDs: [UInt32]
    var logLevelFlag: String?
    var fsyncFlag: FsyncPolicy? = nil
    var acceptDataLoss = false
    var environment: [String: String]

    struct Loaded: Sendable {
        var configuration: DaemonConfiguration
        var level: Logger.Level
        /// The file read, when there was one.
        var path: String?
    }

    /// Why the configuration cannot be used: the message names the file and line when there is one.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func load() throws(Failure) -> Loaded {
        var file: ConfigFile?
        let path = DaemonPaths.configFile(
            flag: configFlag, environment: environment, exists: { FileManager.default.fileExists(atPath: $0) })
        if let path {
            let text: String
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw Failure(description: "cannot read the config file \(path): \(error.localizedDescription)")
            }
            do {
                file = try ConfigFile(text: text, path: path)
            } catch {
                throw Failure(description: "\(error)")
            }
        }
        let levelName = logLevelFlag ?? environment["ACCESSD_LOG_LEVEL"] ?? file?.values["log_level"] ?? "info"
        guard let level = Logger.Level(rawValue: levelName) else {
            let source =
                logLevelFlag != nil
                ? "--log-level" : environment["ACCESSD_LOG_LEVEL"] != nil
                    ? "ACCESSD_LOG_LEVEL" : "\(path ?? "config"):\(file?.lines["log_level"] ?? 0)"
            throw Failure(
                description: "\(source): unknown log level '\(levelName)'; use trace, debug, info, notice, warning, error or critical")
        }
        var configuration = DaemonConfiguration(
            socketPath: DaemonPaths.socketPath(flag: socketFlag, environment: environment, file: file),
            stateDirectory: DaemonPaths.stateDirectory(flag: stateDirFlag, environment: environment, file: file))
        do {
            try file?.apply(to: &configuration)
        } catch {
            throw Failure(description: "\(error)")
        }
        if !adminUIDs.isEmpty { configuration.administratorUIDs = Set(adminUIDs) }
        if !adminGIDs.isEmpty { configuration.administratorGIDs = Set(adminGIDs) }
        if let fsyncFlag { configuration.fsyncPolicy = fsyncFlag }
        configuration.acceptDataLoss = acceptDataLoss
        return Loaded(configuration: configuration, level: level, path: path)
    }
}
