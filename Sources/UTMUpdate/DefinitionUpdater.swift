import Foundation

/// Installs signed definition artifacts into a `DefinitionStore`:
///
///     verify (key, signature, digest, expiry) → sequence must exceed every set ever current
///     → unpack to a new version directory → load the whole set with the real loaders
///     → EngineSelfTest on an engine built from it → swap `current` (old one becomes `previous`)
///
/// Why verify before the swap: a reader of `current` (utmd on SIGHUP) never sees a set that
/// does not load or fails the self-test. When loading or the self-test fails, the candidate
/// directory is removed and `current` stays on the last good set — the automatic rollback —
/// and the outcome says why. `rollback` goes back to `previous` by hand.
public struct DefinitionUpdater: Sendable {
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        case installed(kind: ArtifactKind, sequence: UInt64, previous: UInt64?)
        /// The new set was unpacked but refused; `current` is still `kept`.
        case rolledBack(kind: ArtifactKind, sequence: UInt64, kept: UInt64?, reason: String)

        public var description: String {
            switch self {
            case let .installed(k, s, p):
                "\(k.name) v\(s) installed" + (p.map { " (previous v\($0) kept for rollback)" } ?? "")
            case let .rolledBack(k, s, kept, reason):
                "\(k.name) v\(s) refused, \(kept.map { "v\($0)" } ?? "no set") stays current: \(reason)"
            }
        }
    }

    public let store: DefinitionStore
    public let keyring: Keyring

    public init(store: DefinitionStore, keyring: Keyring) {
        self.store = store
        self.keyring = keyring
    }

    /// Verifies and installs one artifact. Throws (ArtifactError or UpdateError, one line) when
    /// the artifact itself is refused: nothing on disk changes. Returns `.rolledBack` when it
    /// was authentic but its definitions did not load or failed the self-test.
    public func install(_ bytes: [UInt8], now: UInt64 = UInt64(Date().timeIntervalSince1970)) throws -> Outcome {
        let artifact = try SignedArtifact.open(bytes, keyring: keyring, now: now)
        guard artifact.kind != .firmware else {
            throw ArtifactError(.wrongKind, "artifact: a firmware image, not definitions (use `utmctl firmware stage`)")
        }
        let kind = artifact.kind
        let highest = store.highestSequence(kind)
        guard artifact.sequence > highest else {
            throw ArtifactError(.downgrade, "artifact: \(kind.name) sequence \(artifact.sequence) is not newer than \(highest) (downgrade refused)")
        }
        let files = try PayloadArchive.decode(artifact.payload)
        let kept = store.current(kind)?.sequence
        let candidate = try store.stage(kind: kind, sequence: artifact.sequence, created: artifact.created,
                                        expires: artifact.expires, digest: artifact.payloadDigest, files: files, now: now)
        do {
            let loaded = try DefinitionLoader.load(store: store, candidate: candidate)
            try EngineSelfTest.run(loaded)
        } catch {
            store.discard(candidate)
            return .rolledBack(kind: kind, sequence: artifact.sequence, kept: kept, reason: "\(error)")
        }
        try store.activate(candidate)
        return .installed(kind: kind, sequence: artifact.sequence, previous: kept)
    }

    /// Back to the previous set of `kind` by hand.
    public func rollback(_ kind: ArtifactKind) throws -> DefinitionVersion {
        try store.rollback(kind)
    }
}
