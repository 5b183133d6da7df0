import AccessStore
import AccessDaemon
import AccessFuzzTargets
import AccessWire
import SwiftProtobuf
import Foundation
import Testing

/// Every file of the committed corpus (`Tests/FuzzCorpus/<target>/`) and of
/// its `crashes/` (inputs that once crashed a target, kept as regressions)
/// through the same entry points the fuzzer calls, without a sanitizer.
@Suite struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("FuzzCorpus")

    static func files(_ target: FuzzTarget, _ folder: String) -> [URL] {
        let directory = corpus.appendingPathComponent(target.rawValue).appendingPathComponent(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
            .filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedsAndCrashesReplay(_ target: FuzzTarget) throws {
        let seeds = Self.files(target, "")
        #expect(!seeds.isEmpty, "the \(target) corpus has seeds")
        for file in seeds + Self.files(target, "crashes") {
            let bytes = [UInt8](try Data(contentsOf: file))
            #expect(throws: Never.self, "\(file.lastPathComponent)") { try target.run(bytes) }
        }
    }

    /// The seeds of frames, methods and config files are made from the code
    /// alone: the committed ones are what `accessd-fuzz --generate-corpus`
    /// writes today (a method seed's first byte indexes the sorted method
    /// table, so a new method shifts them). The journal and snapshot seeds
    /// also keep files of earlier formats, so they are replayed, not compared.
    @Test(arguments: [FuzzTarget.frame, .methods, .config])
    func committedSeedsAreWhatTheGeneratorWrites(_ target: FuzzTarget) throws {
        let committed = Dictionary(
            uniqueKeysWithValues: try Self.files(target, "").map { ($0.lastPathComponent, [UInt8](try Data(contentsOf: $0))) })
        let generated = SeedCorpus.seeds(for: target)
        #expect(Set(committed.keys) == Set(generated.map(\.name)), "regenerate: accessd-fuzz --generate-corpus Tests/FuzzCorpus")
        for seed in generated {
            #expect(committed[seed.name] == seed.bytes, "\(target)/\(seed.name) differs: regenerate the corpus")
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func generatedSeedsRun(_ target: FuzzTarget) throws {
        for seed in SeedCorpus.seeds(for: target) {
            #expect(throws: Never.self, "\(seed.name)") { try target.run(seed.bytes) }
        }
    }
}

/// Inputs too large for the committed corpus, made here by code.
@Suite struct LargeRegressionTests {
    /// 4096 idempotent replies, the last one at the earliest time there is: the
    /// 4096th insertion prunes at that reply's time, and the horizon, 24 hours
    /// before it, overflowed (recovery crashed on such a snapshot or journal record).
    static func replies() -> [Accessd_V1_IdempotentReply] {
        (0..<4096).map { index in
            var reply = Accessd_V1_IdempotentReply()
            reply.actor = "administrator"
            reply.key = "k\(index)"
            reply.atMs = index == 4095 ? .min : 1_800_000_000_000
            return reply
        }
    }

    @Test func aSnapshotWithAReplyAtTheEarliestTimeLoads() throws {
        var snapshot = Accessd_V1_StateSnapshot()
        snapshot.formatVersion = 2
        snapshot.nextSeq = 1
        snapshot.idempotentReplies = Self.replies()
        let payload: [UInt8] = try snapshot.serializedBytes()
        #expect(throws: Never.self) { try FuzzTarget.snapshot.run([1] + payload) }
    }

    @Test func aJournalRecordWithAReplyAtTheEarliestTimeReplays() throws {
        var record = Accessd_V1_JournalRecord()
        record.lsn = 1
        record.idempotentReplies = Self.replies()
        // A record of journal format 3: its batch and the hash before record 1.
        record.batchID = Data(repeating: 1, count: BatchID.length)
        record.previousHash = Data(LogHash.zero.bytes)
        let segment = JournalFormat.header(firstLSN: 1) + JournalFormat.frame(try record.serializedBytes())
        #expect(throws: Never.self) { try FuzzTarget.journal.run([0] + segment) }
    }
}
