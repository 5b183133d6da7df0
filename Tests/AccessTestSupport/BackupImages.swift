package import AccessStore
import AccessCore

/// Backup images of made-up states, for the tests of the backup stream and of restore.
package enum BackupImages {
    /// A state of `accounts` accounts, encoded as a backup image.
    package static func image(accounts: Int, lease: BackupLease = BackupLease {}) throws -> BackupImage {
        var state = AccessState()
        var random = SystemRandomNumberGenerator()
        let context = CommandContext(principal: .administrator, now: Timestamp(millisecondsSinceEpoch: 1_800_000_000_000))
        for n in 0..<accounts {
            _ = try state.execute(
                .createAccount(
                    CreateAccount(
                        name: "Account \(n)", fullAccessLicenses: 3, ownerEmail: "owner\(n)@example.com", ownerFirstName: "Owner",
                        ownerLastName: "Number\(n)")),
                context: context, using: &random)
        }
        let durable = DurableState(state: state, history: EventHistory(), lsn: UInt64(accounts))
        return try BackupImage.encode(durable, takenAt: Timestamp(millisecondsSinceEpoch: 1_800_000_000_000), lease: lease)
    }
}
