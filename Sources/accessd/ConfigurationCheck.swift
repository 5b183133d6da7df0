import AccessStore
import AccessDaemon
import ArgumentParser
import Foundation

/// `accessd --check-config`: the configuration read as a start would read
/// it (flags, environment, config file), checked and reported, nothing
/// started; like `nginx -t` or `sshd -t`. The unit's `ExecReload=` runs it
/// before sending SIGHUP, so that `systemctl reload accessd` with a broken
/// file fails where the operator sees it.
enum ConfigurationCheck {
    /// Prints what is in force (stdout) or what is wrong, with the file and
    /// line (stderr). - Returns: the exit code, 0 or 78 (EX_CONFIG).
    /// Under systemd (ExecReload=) the lines go to the journal: the problem at
    /// priority error (`<3>`), the verdict at info.
    static func run(_ loader: ConfigurationLoader) -> ExitCode {
        let journal = JournaldLogHandler.format(environment: loader.environment) == .journal
        let loaded: ConfigurationLoader.Loaded
        do {
            loaded = try loader.load()
        } catch {
            let problem = "\(error)".replacingOccurrences(of: "\n", with: "\\n")
            FileHandle.standardError.write(Data("\(journal ? "<3>" : "")accessd: config error: \(problem)\n".utf8))
            return ExitCode(ExitStatus.config.code)
        }
        let source = loaded.path.map { "the config file \($0)" } ?? "no config file, the defaults"
        print(
            """
            accessd: the configuration is good (\(source))
            socket = \(loaded.configuration.socketPath)
            state_dir = \(loaded.configuration.stateDirectory)
            log_level = \(loaded.level)
            """)
        return .success
    }
}
