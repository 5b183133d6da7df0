import AccessStore
import AccessDaemon
import AccessTestSupport
import Foundation
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 5: sd_notify in Swift. READY=1 once the state is loaded and the
/// socket listens, STATUS=, WATCHDOG=1 at half of WATCHDOG_USEC from the
/// serving loop, STOPPING=1 on shutdown.
@Suite(.serialized) struct SystemdNotifyTests {
    @Test func accessdSendsReadyStatusPeriodicWatchdogAndStoppingToNotifySocket() throws {
        let directory = SystemdTestSupport.temporaryDirectory("notify")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let notify = try NotifySocket(path: directory + "/notify.sock")
        let socketPath = directory + "/run/accessd.sock"
        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", socketPath, "--state-dir", directory + "/state"],
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "300000"], directory: directory)

        let ready = try #require(notify.waitFor("READY=1"), "READY=1 never came; stderr: \(daemon.stderr)")
        // READY=1 only once the socket listens.
        _ = try RawConnection(path: socketPath)
        let status = try #require(ready.split(separator: "\n").first { $0.hasPrefix("STATUS=") })
        #expect(status.contains("0 users in 0 accounts"), "\(status)")
        #expect(status.contains("no snapshot written yet"), "\(status)")

        // Half of 300 ms: about six or seven pings a second.
        let start = Date()
        var pings = 0
        while Date().timeIntervalSince(start) < 1.0 {
            if let message = notify.receive(timeout: 1.0 - Date().timeIntervalSince(start)),
                message.split(separator: "\n").contains("WATCHDOG=1")
            {
                pings += 1
            }
        }
        #expect(pings >= 3 && pings <= 12, "\(pings) WATCHDOG=1 in a second at WATCHDOG_USEC=300000")

        daemon.signal(SIGTERM)
        let stopping = notify.waitFor("STOPPING=1")
        #expect(stopping != nil, "STOPPING=1 never came; got \(notify.received)")
        #expect(stopping?.contains("STATUS=draining") == true)
        #expect(daemon.wait() == 0, "\(daemon.stderr)")
    }

    @Test func aWatchdogForAnotherProcessIsNotPetted() throws {
        let directory = SystemdTestSupport.temporaryDirectory("notify-pid")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let notify = try NotifySocket(path: directory + "/notify.sock")
        let daemon = try DaemonProcess.accessd(
            arguments: ["--socket", directory + "/run/accessd.sock", "--state-dir", directory + "/state"],
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"],
            directory: directory)
        #expect(notify.waitFor("READY=1") != nil, "\(daemon.stderr)")
        #expect(notify.waitFor("WATCHDOG=1", timeout: 0.8) == nil, "WATCHDOG_PID names another process")
        daemon.signal(SIGTERM)
        #expect(daemon.wait() == 0)
    }

    @Test func withoutNotifySocketNotifyingDoesNothing() {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        #expect(!notifier.notify(["READY=1"]))
        #expect(SystemdNotifier.watchdogInterval(environment: [:]) == nil)
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "30000000"]) == 15_000_000)
        #expect(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "x"]) == nil)
    }

    @Test func anAbstractNotifySocketIsReachedAndValuesStayOnOneLine() throws {
        let notify = try NotifySocket(abstractName: "accessd-test-\(UUID().uuidString.prefix(8))")
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": notify.path])
        #expect(notifier.notify(["STATUS=two\nlines"]))
        #expect(notify.receive(timeout: 2) == "STATUS=two\\nlines")
    }

    /// The watchdog enters the state owner before it pets: while the owner's
    /// loop is blocked (a hung actor), no WATCHDOG=1 goes out.
    @Test func aBlockedStateOwnerStopsThePetting() async throws {
        let directory = SystemdTestSupport.temporaryDirectory("watchdog")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let notify = try NotifySocket(path: directory + "/notify.sock")
        var configuration = DaemonConfiguration(socketPath: directory + "/unused.sock", stateDirectory: directory + "/state")
        configuration.eventLoopThreads = 1
        let server = try AccessDaemonServer(configuration: configuration, logger: Logger(label: "test"))
        let owner = server.owner
        let watchdog = SystemdWatchdog(
            owner: owner, notifier: SystemdNotifier(environment: ["NOTIFY_SOCKET": notify.path]),
            intervalMicroseconds: 50_000, status: { "test" })
        #expect(notify.waitFor("WATCHDOG=1", timeout: 2) != nil)

        owner.loop.execute { usleep(1_000_000) }  // the owner hangs for a second
        usleep(150_000)
        while notify.receive(timeout: 0) != nil {}  // a ping already under way may land
        let pingsWhileHung = notify.waitFor("WATCHDOG=1", timeout: 0.6)
        #expect(pingsWhileHung == nil, "pinged while the owner's loop was blocked")
        #expect(notify.waitFor("WATCHDOG=1", timeout: 2) != nil, "petting resumes once the owner runs again")
        watchdog.stop()
        try await server.stop()
    }
}
