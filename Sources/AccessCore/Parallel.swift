import Dispatch

/// Runs independent pieces of pure work at once on the machine's cores and
/// returns when all are done. Each piece must write only what it alone owns
/// (a restore builds its tables and indexes this way); that is what makes
/// handing them to other threads sound, which the compiler cannot see.
enum Parallel {
    private struct Pieces: @unchecked Sendable {
        let pieces: [() -> Void]
    }

    static func run(_ pieces: () -> Void...) {
        let work = Pieces(pieces: pieces)
        DispatchQueue.concurrentPerform(iterations: work.pieces.count) { work.pieces[$0]() }
    }
}
