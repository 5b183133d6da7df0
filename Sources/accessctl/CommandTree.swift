import ArgumentParser

/// The command tree, for what ArgumentParser says about a word that names no
/// command ("Unexpected argument 'user'"): `unknown command 'user' for
/// 'accessctl'; did you mean 'users'?`, as kubectl and git answer.
enum CommandTree {
    /// The message for the first word of `arguments` that should name a
    /// subcommand and names none; nil when every such word names one (the
    /// rest is ArgumentParser's, options included: it suggests options itself).
    static func unknownCommand(in arguments: [String], root: any ParsableCommand.Type) -> String? {
        var command = root
        var path = [root._commandName]
        for word in arguments {
            if word.hasPrefix("-") { return nil }
            let subcommands = command.configuration.subcommands
            if subcommands.isEmpty { return nil }
            // `accessctl help users` is ArgumentParser's.
            if word == "help" { return nil }
            if let next = subcommands.first(where: {
                $0._commandName == word || $0.configuration.aliases.contains(word)
            }) {
                command = next
                path.append(word)
                continue
            }
            // `accessctl backup FILE`: a command with a default subcommand takes
            // any other word as that subcommand's argument.
            if command.configuration.defaultSubcommand != nil { return nil }
            let names = subcommands.map { $0._commandName }
            let here = path.joined(separator: " ")
            var message = "unknown command '\(word)' for '\(here)'"
            let nearest = suggestions(for: word, among: names)
            if !nearest.isEmpty {
                message += "; did you mean " + nearest.map { "'\($0)'" }.joined(separator: " or ") + "?"
            }
            message += "\nThe commands of '\(here)': \(names.joined(separator: ", ")) ('\(here) --help' says more)."
            return message
        }
        return nil
    }

    /// The names close to `word`: those it begins (`acc` -> `accounts`,
    /// `accessible`), else those at the smallest edit distance within a
    /// third of the word (at least 1, at most 3).
    static func suggestions(for word: String, among names: [String]) -> [String] {
        let lowered = word.lowercased()
        let prefixed = names.filter { $0.hasPrefix(lowered) && lowered.count >= 2 }
        if !prefixed.isEmpty { return prefixed }
        let limit = min(3, max(1, lowered.count / 3))
        let scored = names.map { ($0, distance(lowered, $0)) }.filter { $0.1 <= limit }
        guard let best = scored.map(\.1).min() else { return [] }
        return scored.filter { $0.1 == best }.map(\.0)
    }

    /// Edits (insert, delete, replace, swap two neighbours) from `a` to `b`.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
