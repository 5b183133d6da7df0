import AccessClient
import AccessWire
import ArgumentParser

struct Events: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The event history (R20): any peer class may read it; each event names the peer that made the call.",
        subcommands: [List.self, Follow.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Events after a sequence number, oldest first.")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "Only events after this sequence number.") var after: UInt64 = 0
        @Option(help: "At most this many.") var limit: UInt32 = 1000

        func run() async throws {
            var request = Accessd_V1_ListEventsRequest()
            request.afterSeq = after
            request.limit = limit
            try await options.run("/accessd.v1.EventService/ListEvents", request, as: Accessd_V1_ListEventsResponse.self) {
                render(events: $0.events)
            }
        }
    }

    struct Follow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every event after a sequence number, then each new one, until interrupted.")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "Start after this sequence number.") var after: UInt64 = 0

        func run() async throws {
            var request = Accessd_V1_FollowEventsRequest()
            request.afterSeq = after
            let client = try await options.connectOrFail()
            do {
                let events = try client.stream(
                    "/accessd.v1.EventService/FollowEvents", request, as: Accessd_V1_Event.self, actor: options.actor)
                for try await event in events {
                    print(options.json ? try event.jsonString() : eventLine(event))
                    fflushStandardOutput()
                }
                await client.close()
            } catch let error as CallError {
                await client.close()
                throw fail("\(error.codeName): \(error.message)")
            }
        }
    }
}

struct Outbox: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Messages for people waiting for the mailer (administrators, R20).", subcommands: [List.self, Ack.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unacknowledged messages, oldest first.")
        @OptionGroup var options: ConnectionOptions
        @Option(help: "Only messages after this id.") var after: String = ""
        @Option(help: "At most this many.") var limit: UInt32 = 100

        func run() async throws {
            var request = Accessd_V1_ListOutboxRequest()
            request.afterID = after
            request.limit = limit
            try await options.run("/accessd.v1.EventService/ListOutbox", request, as: Accessd_V1_ListOutboxResponse.self) {
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
                "/accessd.v1.EventService/AcknowledgeOutbox", request, as: Accessd_V1_WriteResponse.self, write: write
            ) {
                render(events: $0.events)
            }
        }
    }
}
