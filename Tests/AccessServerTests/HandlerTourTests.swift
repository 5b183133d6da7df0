import AccessMapping
import AccessCore
import AccessWire
import Foundation
import AccessTestSupport
import Testing

@testable import AccessServer

extension HandlerTests {
    @Test("every read and write of the table answers through the wire, and its reply carries what it should")
    func everyMethodAnswers() async throws {
        var h = TableHarness()
        let tour = try await MethodTour.run(&h)
        #expect(tour.events.count == Int(h.history.lastSeq))
        #expect(try tour.events.map { try Event(wire: $0) } == Array(try h.history.events(after: 0)).map(\.withoutSecrets))

        // Every read and write answered.
        var expected: Set<String> = []
        for (path, handler) in MethodTable.handlers {
            if case .daemon = handler { continue }
            expected.insert(path)
        }
        #expect(expected.subtracting(h.answered).isEmpty, "never answered: \(expected.subtracting(h.answered).sorted())")
    }
}
