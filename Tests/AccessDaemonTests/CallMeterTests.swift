import AccessStore
import AccessTestSupport
import AccessWire
import NIOEmbedded
import Testing

@testable import AccessDaemon

/// How a connection's calls are counted into its loop's block, without I/O:
/// a call answered at once counts its method and code and takes its read's
/// duration; a call answered later is in flight until then; a closed
/// connection's unanswered calls leave the count.
@Suite struct CallMeterTests {
    let check = MeteredMethods.routes[Methods.indexByPath[Methods.check.path]!]!.slot
    let addUser = MeteredMethods.routes[Methods.indexByPath[Methods.addUser.path]!]!.slot
    let listEvents = MeteredMethods.routes[Methods.indexByPath[Methods.listEvents.path]!]!.slot

    func durations(_ totals: CallTotals, _ slot: Int) -> UInt64 {
        (0..<CallDurationBuckets.count).reduce(0) { $0 + totals.bucket(method: slot, $1) }
    }

    @Test func aCallAnsweredAtOnceCountsItsCodeAndItsReadsDuration() {
        let loop = EmbeddedEventLoop()
        let block = LoopMetrics(loop: loop)
        var meter = CallMeter(block: block)
        meter.received(100)
        meter.begin(id: 1, slot: check)
        meter.answered(id: 1, code: 0)
        meter.sent(40)
        meter.endRequest()
        meter.begin(id: 2, slot: check)
        meter.answered(id: 2, code: 5)
        meter.endRequest()
        var totals = block.copy()
        #expect(totals.calls(method: check, code: 0) == 1 && totals.calls(method: check, code: 5) == 1)
        #expect(durations(totals, check) == 0, "the duration is taken once, when the read's frames are done")
        meter.readEnded()
        totals = block.copy()
        #expect(durations(totals, check) == 2)
        #expect(totals.callsInFlight == 0)
        #expect(totals.bytesReceived == 100 && totals.bytesSent == 40 && totals.connectionsAccepted == 1)
    }

    /// The Check lane's calls (no `begin`) count as any call answered at
    /// once, beside the read's other calls, and take its duration.
    @Test func aCallOfTheCheckLaneCountsAsACallAnsweredAtOnce() {
        let loop = EmbeddedEventLoop()
        let block = LoopMetrics(loop: loop)
        var meter = CallMeter(block: block)
        meter.answeredAtOnce(slot: check, code: 0)
        meter.begin(id: 2, slot: check)
        meter.answered(id: 2, code: 5)
        meter.endRequest()
        meter.answeredAtOnce(slot: check, code: 0)
        var totals = block.copy()
        #expect(totals.calls(method: check, code: 0) == 2 && totals.calls(method: check, code: 5) == 1)
        #expect(durations(totals, check) == 0)
        meter.readEnded()
        totals = block.copy()
        #expect(durations(totals, check) == 3)
        #expect(totals.callsInFlight == 0)
    }

    @Test func aCallAnsweredLaterIsInFlightUntilItsReplyAndAClosedConnectionTakesItsCallsAlong() {
        let loop = EmbeddedEventLoop()
        let block = LoopMetrics(loop: loop)
        var meter = CallMeter(block: block)
        meter.begin(id: 7, slot: addUser)
        meter.endRequest()
        meter.begin(id: 8, slot: listEvents)
        meter.endRequest()
        meter.readEnded()
        #expect(block.copy().callsInFlight == 2)
        // A second request with id 7 is refused while the first is in flight: it counts, the first stays.
        meter.begin(id: 7, slot: addUser)
        meter.answered(id: 7, code: 3)
        meter.endRequest()
        meter.readEnded()
        #expect(block.copy().callsInFlight == 2)
        meter.answered(id: 7, code: 0)
        var totals = block.copy()
        #expect(totals.callsInFlight == 1)
        #expect(totals.calls(method: addUser, code: 0) == 1 && totals.calls(method: addUser, code: 3) == 1)
        #expect(durations(totals, addUser) == 2)
        meter.closed()
        totals = block.copy()
        #expect(totals.callsInFlight == 0)
        #expect(totals.calls(method: listEvents) == 0, "never answered: not counted")
        meter.answered(id: 8, code: 0)
        #expect(block.copy().calls(method: listEvents) == 0, "a reply after the close is not a call of this connection")
    }

    @Test func loopsSumAndTheCallFamiliesAreValidPrometheusText() throws {
        let one = LoopMetrics(loop: EmbeddedEventLoop())
        let two = LoopMetrics(loop: EmbeddedEventLoop())
        one.answered(method: check, code: 0)
        one.observe(method: check, bucket: CallDurationBuckets.index(of: 9_000), nanoseconds: 9_000)
        two.answered(method: check, code: 0)
        two.observe(method: check, bucket: CallDurationBuckets.index(of: 20_000_000_000), nanoseconds: 20_000_000_000)
        two.answered(method: MeteredMethods.unknown, code: 12)
        two.inFlight(3)
        one.inFlight(-1)
        let totals = one.copy() + two.copy()
        #expect(totals.callsInFlight == 2)
        let text = try PrometheusExposition(DaemonMetrics.renderCalls(totals))
        let labels = ["service": "accessd.v1.AccessService", "method": "Check"]
        #expect(text.value("accessd_calls_total", labels.merging(["code": "OK"]) { a, _ in a }) == 2)
        #expect(text.value("accessd_calls_total", ["service": "unknown", "method": "unknown", "code": "UNIMPLEMENTED"]) == 1)
        #expect(text.value("accessd_call_duration_seconds_bucket", labels.merging(["le": "0.00001"]) { a, _ in a }) == 1)
        #expect(text.value("accessd_call_duration_seconds_bucket", labels.merging(["le": "10"]) { a, _ in a }) == 1)
        #expect(text.value("accessd_call_duration_seconds_bucket", labels.merging(["le": "+Inf"]) { a, _ in a }) == 2)
        #expect(text.value("accessd_call_duration_seconds_sum", labels) == 20.000009)
        #expect(text.value("accessd_call_duration_seconds_count", labels) == 2)
    }

    @Test func durationsAreWrittenAsExactDecimalSeconds() {
        #expect(PrometheusText.seconds(nanoseconds: 0) == "0")
        #expect(PrometheusText.seconds(nanoseconds: 10_000) == "0.00001")
        #expect(PrometheusText.seconds(nanoseconds: 2_500_000_000) == "2.5")
        #expect(PrometheusText.seconds(nanoseconds: 10_000_000_000) == "10")
        #expect(PrometheusText.seconds(nanoseconds: 1_000_000_001) == "1.000000001")
        var text = PrometheusText()
        text.family("x_total", type: "counter", help: "a \\ and a\nline")
        text.sample("x_total", [("path", "a\"b\\c\nd")], "1")
        #expect(text.text == "# HELP x_total a \\\\ and a\\nline\n# TYPE x_total counter\nx_total{path=\"a\\\"b\\\\c\\nd\"} 1\n")
        #expect((try? PrometheusExposition(text.text))?.value("x_total", ["path": "a\"b\\c\nd"]) == 1)
    }
}
