import AccessStatus
import AccessClient
import AccessWire
import ArgumentParser
import Foundation

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The event history (R20): any peer class may read it; each event names the peer that made the call.",
        discussion: """
            The daemon keeps the newest events within its retention (event_retention_count, event_retention_s) \
            across restarts. Without --after, list and follow start from the oldest event it still holds.
            """,
        subcommands: [List.self, Follow.self])

    static let listMethod = Methods.listEvents
    static let followMethod = Methods.followEvents

    /// The seq to read after so as to start from the oldest event held: a
    /// ListEvents after the newest holds no event, and says the oldest.
    static func beforeOldest(_ client: AccessClient, actor: String) async throws -> UInt64 {
        var request = Accessd_V1_ListEventsRequest()
        request.afterSeq = .max
        request.limit = 1
        let oldest = try await client.call(listMethod, request, options: CallOptions(actor: actor)).oldestSeq
        return oldest > 0 ? oldest - 1 : 0
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Events after a sequence number, oldest first.")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "Only events after this sequence number (default: from the oldest held).") var after: UInt64?
        @Option(help: "At most this many.") var limit: UInt32 = 1000

        func run() async throws {
            let client = try await options.connectOrFail()
            do {
                var request = Accessd_V1_ListEventsRequest()
                if let after {
                    request.afterSeq = after
                } else {
                    request.afterSeq = try await Events.beforeOldest(client, actor: options.actor)
                }
                request.limit = limit
                var response = try await client.call(Events.listMethod, request, options: CallOptions(actor: options.actor))
                if after == nil, response.events.isEmpty, response.oldestSeq > request.afterSeq + 1 {
                    // Pruned between the two calls: once more from the new oldest.
                    request.afterSeq = response.oldestSeq - 1
                    response = try await client.call(Events.listMethod, request, options: CallOptions(actor: options.actor))
                }
                await client.close()
                if options.json {
                    print(try JSONOutput.document(response))
                } else if !response.events.isEmpty {
                    print(render(events: response.events))
                }
            } catch let error as CallError {
                await client.close()
                throw fail("\(error.codeName): \(error.message)")
            }
        }
    }

    struct Follow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every event after a sequence number, then each new one, until interrupted.",
            discussion: """
                When the daemon goes away (a restart, a crash) it says so on stderr, connects again with backoff \
                (0.1 s doubling to 5 s) and resumes after the last event it printed, so each event is printed \
                once. It stops only on an error a retry cannot mend (for example OUT_OF_RANGE: the events it \
                needs are past the retention).
                """)
        @OptionGroup var options: ConnectionOptions
        @Option(help: "Start after this sequence number (default: from the oldest held).") var after: UInt64?

        /// A connection that broke, or a daemon that is not there yet or is going away: try again.
        static func retryable(_ error: CallError) -> Bool {
            error.code == StatusCode.unavailable || error.code == StatusCode.resourceExhausted
        }

        func run() async throws {
            let path = try options.socketPath()
            var last = after
            var delay = 0.1
            // The first connection fails as every command does; once following, a lost daemon is waited for.
            var client: AccessClient? = try await options.connectOrFail()
            while true {
                let lost: String
                do {
                    let connected: AccessClient
                    if let client {
                        connected = client
                    } else {
                        connected = try await AccessClient.connect(socketPath: path)
                        client = connected
                    }
                    let start: UInt64
                    if let last {
                        start = last
                    } else {
                        start = try await Events.beforeOldest(connected, actor: options.actor)
                    }
                    var request = Accessd_V1_FollowEventsRequest()
                    request.afterSeq = start
                    let events = try connected.stream(Events.followMethod, request, options: CallOptions(actor: options.actor))
                    if delay > 0.1 { standardError("accessctl: reconnected to accessd at \(path); resuming after event \(start)") }
                    last = start
                    for try await event in events {
                        // A resumed stream starts after `last`; never print one twice.
                        guard event.seq > start, event.seq > last ?? 0 else { continue }
                        print(options.json ? try JSONOutput.document(event) : eventLine(event))
                        fflushStandardOutput()
                        last = event.seq
                        delay = 0.1
                    }
                    lost = "the stream ended"
                } catch let error as CallError {
                    guard Self.retryable(error) else {
                        await client?.close()
                        throw fail("\(error.codeName): \(error.message)")
                    }
                    lost = "\(error.codeName): \(error.message)"
                }
                await client?.close()
                client = nil
                standardError(
                    "accessctl: lost accessd at \(path) (\(lost)); reconnecting in \(delay) s, then resuming after event \(last.map(String.init) ?? "the oldest held")")
                try await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
                delay = min(delay * 2, 5)
            }
        }

        private func standardError(_ line: String) {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}

struct Outbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Messages for people waiting for the mailer (administrators, R20).", subcommands: [List.self, Ack.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unacknowledged messages, oldest first.")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "Only messages after this id.") var after: String?
        @Option(help: "At most this many.") var limit: UInt32 = 100

        func run() async throws {
            var request = Accessd_V1_ListOutboxRequest()
            request.afterID = after ?? ""
            request.limit = limit
            try await options.run(Methods.listOutbox, request) {
                table(
                    ["ID", "KIND", "TO", "USER", "TOKEN", "EXPIRES"],
                    $0.messages.map { [$0.id, $0.kind, $0.to, $0.userID, $0.token, time($0.expiresAtMs)] })
            }
        }
    }

    struct Ack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove delivered messages from the outbox.")
        @OptionGroup var options: ConnectionOptions
        @OptionGroup var write: WriteOptions
        @Argument(help: "Message ids (also comma-separated).") var ids: [String]

        func run() async throws {
            var request = Accessd_V1_AcknowledgeOutboxRequest()
            request.ids = splitList(ids)
            try await options.run(
                Methods.acknowledgeOutbox, request, write: write
            ) {
                render(events: $0.events)
            }
        }
    }
}
