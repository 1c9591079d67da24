/// What the daemon does with a cloud command. The heartbeat thread calls it once per command
/// id (ids already handled are remembered across restarts), and acknowledges the id on the next
/// heartbeat whatever the handler returned: a refused command is logged, not retried forever.
/// Handlers must return quickly; long work (a download, a reboot at a later time) is
/// scheduled, not done on the heartbeat thread.
public protocol CloudCommandHandler: Sendable {
    /// Returns a short outcome for the log ("scheduled", "refused: …").
    func handle(_ command: CloudCommand) -> String
}

/// The default until the updates and wipe code is wired in: says what it would do.
public struct LoggingCommandHandler: CloudCommandHandler {
    let log: @Sendable (String) -> Void
    public init(log: @escaping @Sendable (String) -> Void) { self.log = log }

    public func handle(_ command: CloudCommand) -> String {
        log("cloud command \(command.id): \(command.kind.rawValue)\(command.at.map { " at \($0)" } ?? "") (no handler wired: logged only)")
        return "logged"
    }
}

/// Exponential backoff with jitter: base · 2^failures, capped, times a random factor in
/// [0.5, 1], so a thousand boxes coming back after a cloud outage do not arrive together.
public struct Backoff: Sendable {
    public var base: Double
    public var cap: Double
    public private(set) var failures = 0

    public init(base: Double = 2, cap: Double = 600) {
        self.base = base
        self.cap = cap
    }

    /// Counts a failure and returns the seconds to wait before the next attempt.
    public mutating func fail() -> Double {
        failures += 1
        let raw = min(cap, base * pow2(min(failures - 1, 30)))
        return raw * Double.random(in: 0.5 ... 1.0)
    }

    public mutating func succeed() { failures = 0 }

    func pow2(_ n: Int) -> Double { Double(1 << n) }
}
