import AccessFuzzTargets
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

    @Test(arguments: FuzzTarget.allCases)
    func generatedSeedsRun(_ target: FuzzTarget) throws {
        for seed in SeedCorpus.seeds(for: target) {
            #expect(throws: Never.self, "\(seed.name)") { try target.run(seed.bytes) }
        }
    }
}
