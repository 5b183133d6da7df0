import AccessFuzzTargets
import Foundation

// `accessd-fuzz`, two programs in one file.
//
// Built with `--sanitize=fuzzer` (scripts/fuzz.sh), libFuzzer's own `main`
// runs and calls `LLVMFuzzerTestOneInput` below with each input, for the
// target `$ACCESSD_FUZZ_TARGET` names (frame, methods, journal, snapshot,
// config); a broken check is a crash, whose input libFuzzer keeps.
//
// Built normally, `replayOrGenerate` at the bottom runs instead:
//     accessd-fuzz TARGET FILE...          replays files through a target
//     accessd-fuzz --generate-corpus DIR   writes the seed corpus into DIR/<target>/

/// The target `$ACCESSD_FUZZ_TARGET` names, read at the first input (a static
/// is lazy, where a global of main.swift would be set before libFuzzer starts).
enum Selected {
    static let target: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["ACCESSD_FUZZ_TARGET"] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("accessd-fuzz: set ACCESSD_FUZZ_TARGET to one of \(known)\n".utf8))
            exit(64)
        }
        return target
    }()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { UnsafeRawBufferPointer(start: $0, count: size) } ?? UnsafeRawBufferPointer(start: nil, count: 0)
    do {
        try Selected.target.run(bytes)
    } catch {
        fatalError("\(Selected.target): \(error)")
    }
    return 0
}

/// Built normally: replays files through a target, or writes the seed corpus, then exits.
func replayOrGenerate() {
    let arguments = Array(CommandLine.arguments.dropFirst())
    if arguments.first == "--generate-corpus", arguments.count == 2 {
        do {
            try SeedCorpus.write(to: arguments[1])
        } catch {
            FileHandle.standardError.write(Data("accessd-fuzz: \(error)\n".utf8))
            exit(1)
        }
        for target in FuzzTarget.allCases { print("\(target.rawValue): \(SeedCorpus.seeds(for: target).count) seeds") }
        exit(0)
    }
    guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count >= 2 else {
        let known = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
        FileHandle.standardError.write(
            Data("usage: accessd-fuzz \(known) FILE...\n       accessd-fuzz --generate-corpus DIR\n".utf8))
        exit(64)
    }
    var failed = 0
    for path in arguments.dropFirst() {
        guard let data = FileManager.default.contents(atPath: path) else {
            print("\(path): cannot be read")
            failed += 1
            continue
        }
        do {
            try target.run([UInt8](data))
            print("\(path): ok")
        } catch {
            print("\(path): \(error)")
            failed += 1
        }
    }
    exit(failed == 0 ? 0 : 1)
}

// A declaration, not a statement: the fuzzer build parses this file as a
// library (no top-level statements), where a global is lazy and so never
// runs; the normal build runs it as the program.
let replayed: Void = replayOrGenerate()
