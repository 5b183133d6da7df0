import AccessCore
import AccessWire
import Foundation
import Testing

/// The generated code in Sources/AccessWire/Generated is committed and CI
/// never rebuilds the protoc plugin: `scripts/generate-protos.sh` records the
/// SHA-256 of every proto it generated from (`ProtoDigest`), and this test
/// fails when a proto changed, was added or was removed since then.
@Suite struct ProtoDigestTests {
    static let protos = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("proto")

    @Test func theGeneratedCodeIsFromTheProtosAsTheyAre() throws {
        let directory = Self.protos.appendingPathComponent("accessd/v1")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".proto") }
        var found: [String: String] = [:]
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
            found["accessd/v1/" + name] = Hex.encode(SHA256.hash(bytes))
        }
        #expect(!found.isEmpty)
        let differing = Set(found.keys).union(ProtoDigest.sha256.keys).filter { found[$0] != ProtoDigest.sha256[$0] }.sorted()
        #expect(
            differing.isEmpty,
            "\(differing.joined(separator: ", ")) changed since the code was generated: run scripts/generate-protos.sh and commit Sources/AccessWire/Generated"
        )
    }
}
