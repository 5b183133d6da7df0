public import AccessStore
public import ArgumentParser
public import Logging

// `--fsync` and `--log-level` take the enums' raw values: `--help` lists
// them, and the parser refuses any other word (exit 64) naming the ones it takes.

extension FsyncPolicy: ExpressibleByArgument {}

extension Logger.Level: @retroactive ExpressibleByArgument {}
