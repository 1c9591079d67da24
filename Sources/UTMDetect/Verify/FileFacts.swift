import UTMCrypto

/// The file a file inspection is about (session 9): its state, size and digests, as the
/// engine's file tracking (UTMEngine EngineDetectFiles.swift) knows them. One instance per
/// verifier, reused: setting it per file allocates nothing.
public final class FileFacts: @unchecked Sendable {
    public enum State: UInt8, Sendable {
        /// No file is being inspected: file tests do not match.
        case none
        /// Bytes still arrive (name rules are judged here; size and hashes are not).
        case open
        /// Ended where its framing said (Content-Length, last chunk, close-delimited end).
        case closed
        /// Ended early (gap, flow cut, body delivery limit): only `filesize:>N` / `>=N` can
        /// match, on the bytes seen; no hash.
        case truncated
    }

    public var state: State = .none
    /// Bytes of the file seen (decoded body bytes for HTTP).
    public var size: Int64 = 0
    /// The digests computed over the whole file (only those a loaded rule needs, and only for
    /// a closed file).
    public var digests = FileDigests()

    public init() {}

    public func clear() { state = .none; size = 0; digests.kinds = [] }

    /// Suricata 7's filesize rule (DetectFilesizeMatch): a closed file compares its size; a
    /// truncated one only a lower bound on what was seen; an open one never matches.
    @inlinable
    public func sizeMatches(_ m: IntMatch) -> Bool {
        switch state {
        case .closed: return m.matches(Int(clamping: size))
        case .truncated: return (m.mode == .greater || m.mode == .greaterEqual) && m.matches(Int(clamping: size))
        case .none, .open: return false
        }
    }

    /// A hash test: only a closed file with that digest computed is judged (Suricata finishes
    /// hashes only for closed files); then in the list, or not in it when negated.
    public func hashMatches(_ list: FileHashList) -> Bool {
        guard state == .closed else { return false }
        switch list.kind {
        case .md5:
            guard digests.kinds.contains(.md5) else { return false }
            return withUnsafeBytes(of: digests.md5.raw) { list.matches($0) }
        case .sha1:
            guard digests.kinds.contains(.sha1) else { return false }
            return withUnsafeBytes(of: digests.sha1.raw) { list.matches($0) }
        case .sha256:
            guard digests.kinds.contains(.sha256) else { return false }
            return withUnsafeBytes(of: digests.sha256.raw) { list.matches($0) }
        }
    }
}
