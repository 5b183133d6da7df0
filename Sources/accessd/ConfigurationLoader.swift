import AccessStore
import AccessDaemon
import AccessPaths
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the configuration the same way at start and at every reload
/// (SIGHUP): flags win, then the environment, then the config file, then
/// systemd's directories and the XDG defaults.
struct ConfigurationLoader: Sendable {
    var configFlag: String?
    var socketFlag: String?
    var stateDirFlag: String?
    var adminUIDs: [UInt32]
    var adminGIDs: [UInt32]
    var logLevelFlag: Logger.Level?
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
            let text = try Self.text(ofFile: path)
            do {
                file = try ConfigFile(text: text, path: path)
            } catch {
                throw Failure(description: "\(error)")
            }
        }
        let level = try Self.level(flag: logLevelFlag, environment: environment, file: file)
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

    /// `--log-level`, else `$ACCESSD_LOG_LEVEL`, else the file's `log_level`, else the table's default.
    private static func level(flag: Logger.Level?, environment: [String: String], file: ConfigFile?) throws(Failure) -> Logger.Level {
        if let flag { return flag }
        let key = ConfigKey.logLevel
        let (name, source): (String, String) =
            if let name = environment["ACCESSD_LOG_LEVEL"] {
                (name, "ACCESSD_LOG_LEVEL")
            } else if let file, let entry = file.entries[key] {
                (entry.value, "\(file.path):\(entry.line)")
            } else {
                (key.spec.defaultValue ?? "", "the table of config keys")
            }
        guard let level = Logger.Level(rawValue: name) else {
            let words = ConfigKey.Values.either(Logger.Level.allCases.map(\.rawValue))
            throw Failure(description: "\(source): unknown log level '\(name)'; use \(words)")
        }
        return level
    }

    /// The file's text, or why it cannot be had in the words of the system
    /// ("Permission denied": the file is not readable by accessd's user).
    private static func text(ofFile path: String) throws(Failure) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot read the config file \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw Failure(description: "cannot read the config file \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw Failure(description: "cannot read the config file \(path): it is not UTF-8 text")
        }
        return text
    }
}
