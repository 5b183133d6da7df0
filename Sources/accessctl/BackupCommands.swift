import AccessStore
import AccessClient
import AccessWire
import ArgumentParser
import Foundation

/// `accessctl backup FILE` and `accessctl backup verify FILE`.
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Save a consistent snapshot of the live state to a file, or verify one (administrators).",
        discussion: """
            `accessctl backup FILE` (or `backup save FILE`) streams one state at one revision from the running \
            daemon (AdminService.Backup; writes go on meanwhile) into FILE: a snapshot file exactly as accessd \
            writes one, written beside FILE, checked (size, SHA-256, and decoded as a snapshot) and only then \
            renamed into place, mode 0600 (it holds the outbox's activation tokens). \
            `accessctl backup verify FILE` checks a backup offline. Restore one with \
            `accessd restore FILE --state-dir DIR` while the daemon is stopped.
            """,
        subcommands: [Save.self, Verify.self],
        defaultSubcommand: Save.self)

    struct Save: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a backup of the live state to FILE (atomically; verified before it replaces anything).")

        @OptionGroup var options: ConnectionOptions

        @Argument(help: "The backup file to write (replaced only once the new one is whole and verified).")
        var file: String

        func run() async throws {
            let writer: BackupFile.Writer
            do {
                writer = try BackupFile.Writer(path: file)
            } catch {
                throw fail("\(error)")
            }
            let client = try await options.connectOrFail()
            var header: Accessd_V1_BackupHeader?
            var trailer: Accessd_V1_BackupTrailer?
            let started = Date()
            do {
                let chunks = try client.stream(
                    Methods.backup, Accessd_V1_BackupRequest(), options: CallOptions(actor: options.actor))
                for try await chunk in chunks {
                    switch chunk.part {
                    case .header(let value) where header == nil:
                        header = value
                    case .data(let bytes) where header != nil && trailer == nil:
                        try writer.write(bytes)
                    case .trailer(let value) where header != nil && trailer == nil:
                        trailer = value
                    default:
                        writer.abandon()
                        await client.close()
                        throw fail("the daemon's backup stream is out of order (a header, data, then a trailer); nothing was written")
                    }
                }
                await client.close()
            } catch let error as CallError {
                writer.abandon()
                await client.close()
                throw fail("\(error.codeName): \(error.message); nothing was written")
            } catch let error as BackupFile.Writer.Failure {
                await client.close()
                throw fail("\(error); nothing was written")
            }
            guard let header, let trailer else {
                writer.abandon()
                throw fail("the backup stream ended before its \(header == nil ? "header" : "trailer"); nothing was written")
            }
            let summary: BackupFile.Summary
            do {
                summary = try writer.commit(size: header.size, sha256: [UInt8](trailer.sha256))
            } catch {
                throw fail("\(error); nothing was written")
            }
            let seconds = Date().timeIntervalSince(started)
            let rows: [(String, String)] = [
                ("file", file), ("revision", "\(header.revision)"), ("journal record", "\(header.lsn)"),
                ("format version", "\(header.formatVersion)"), ("bytes", "\(header.size)"),
                ("sha256", hex(trailer.sha256)), ("accounts", "\(summary.accounts)"), ("users", "\(summary.users)"),
                ("taken at", time(header.takenAtMs)), ("daemon version", header.daemonVersion),
                ("seconds", String(format: "%.2f", seconds)),
            ]
            if options.json {
                print(jsonObject(rows, numbers: ["revision", "journal record", "format version", "bytes", "accounts", "users", "seconds"]))
            } else {
                print(block(rows))
            }
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a backup offline (header, length, CRC-32C, every record) and print what it holds.",
            discussion: "Exit status 0 when `accessd restore` would install it, 1 when it is damaged or unreadable.")

        @Flag(help: "Print JSON instead of a table.")
        var json = false

        @Argument(help: "The backup file.")
        var file: String

        func run() throws {
            let summary: BackupFile.Summary
            let bytes: [UInt8]
            do {
                bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
            } catch {
                throw fail("cannot read \(file): \((error as NSError).localizedDescription)", status: ExitStatus.noInput)
            }
            do {
                summary = try BackupFile.verify(bytes, path: file)
            } catch {
                // As check-state says no: accessd would not start from this file.
                throw fail("\(error)", status: ExitStatus.no)
            }
            let rows: [(String, String)] = [
                ("file", file), ("format version", "\(summary.formatVersion)"), ("journal record", "\(summary.lsn)"),
                ("revision", "\(summary.revision)"), ("accounts", "\(summary.accounts)"), ("users", "\(summary.users)"),
                ("bytes", "\(summary.bytes)"), ("sha256", hex(BackupFile.sha256(bytes))),
                ("taken at", time(summary.writtenAtMilliseconds)), ("restores as", summary.snapshotName),
                ("checksum", "ok"),
            ]
            if json {
                print(jsonObject(rows, numbers: ["format version", "journal record", "revision", "accounts", "users", "bytes"]))
            } else {
                print(block(rows))
            }
        }
    }
}

private func hex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// One JSON object of `rows`, keys in snake case, the `numbers` as numbers.
private func jsonObject(_ rows: [(String, String)], numbers: Set<String>) -> String {
    var object: [String: Any] = [:]
    for (key, value) in rows {
        let name = key.replacingOccurrences(of: " ", with: "_")
        if numbers.contains(key), let number = Int(value) ?? Double(value).map({ $0 as Any }) {
            object[name] = number
        } else {
            object[name] = value
        }
    }
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}
