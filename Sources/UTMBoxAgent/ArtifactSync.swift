import Foundation
import UTMCloudClient
import UTMStore
import UTMUpdate

/// Fetches the signed artifacts the cloud offers above what the box has, and installs them.
///
/// Nothing here trusts the cloud: each download is bounded, and `DefinitionUpdater` /
/// `FirmwareUpdater` verify signature, digest, expiry and sequence before anything moves. The
/// outcome of every artifact — installed, refused, rolled back — goes to the update history, so
/// the customer's report and the support desk see it.
public struct ArtifactSync: Sendable {
    public let paths: BoxPaths
    public let keyring: Keyring
    public let transport: CloudTransport
    /// The largest artifact downloaded (the full UT1 database is ~30 MB).
    public var maxBytes = 128 << 20
    let log: @Sendable (String) -> Void

    public init(paths: BoxPaths, keyring: Keyring, transport: CloudTransport, log: @escaping @Sendable (String) -> Void) {
        self.paths = paths
        self.keyring = keyring
        self.transport = transport
        self.log = log
    }

    /// One result line per artifact the cloud offered.
    public struct Result: Sendable, Equatable {
        public var kind: String
        public var sequence: UInt64
        /// "installed", "rolled back", "refused", "download failed"
        public var outcome: String
        public var detail: String
    }

    /// What the box has: the highest sequence ever current per definition kind, and the
    /// running firmware version.
    public func have() -> [String: UInt64] {
        var have: [String: UInt64] = [:]
        for kind in ArtifactKind.definitions { have[kind.name] = paths.definitionStore.highestSequence(kind) }
        let firmware = FirmwareUpdater(layout: paths.firmware, keyring: keyring)
        let env = firmware.environment()
        let slot = firmware.runningSlot() ?? env["boot_slot"] ?? "a"
        have[ArtifactKind.firmware.name] = UInt64(env["fw_version_\(slot)"] ?? "0") ?? 0
        return have
    }

    /// Lists what is newer and installs the definition sets. Firmware images are left to
    /// `stageFirmware` (they wait for a reboot the customer or the cloud chooses).
    public func syncDefinitions() -> [Result] {
        sync(kinds: Set(ArtifactKind.definitions.map(\.name)))
    }

    /// Fetches a newer firmware image, if any, into the inactive slot.
    public func stageFirmware() -> [Result] {
        sync(kinds: [ArtifactKind.firmware.name])
    }

    func sync(kinds: Set<String>) -> [Result] {
        let offered: [ArtifactInfo]
        do {
            offered = try transport.post(CloudAPI.artifactsPath, ArtifactListRequest(have: have()), as: ArtifactList.self).artifacts
        } catch {
            log("updates: asking the cloud for new artifacts failed: \(error)")
            return [Result(kind: "-", sequence: 0, outcome: "download failed", detail: "\(error)")]
        }
        var results: [Result] = []
        for info in offered where kinds.contains(info.kind) {
            results.append(install(info))
        }
        return results
    }

    func install(_ info: ArtifactInfo) -> Result {
        var result = Result(kind: info.kind, sequence: info.sequence, outcome: "refused", detail: "")
        let bytes: [UInt8]
        do {
            guard info.size <= maxBytes else { throw CloudError("\(info.size) bytes is over the \(maxBytes) byte limit") }
            bytes = try transport.fetch(CloudAPI.artifactPath, ArtifactRequest(kind: info.kind, sequence: info.sequence),
                                        maxBytes: maxBytes)
        } catch {
            result.outcome = "download failed"
            result.detail = "\(error)"
            return finish(result)
        }
        do {
            if info.kind == ArtifactKind.firmware.name {
                let slot = try FirmwareUpdater(layout: paths.firmware, keyring: keyring).stage(bytes)
                result.outcome = "staged"
                result.detail = "slot \(slot); applied at the next reboot"
            } else {
                switch try DefinitionUpdater(store: paths.definitionStore, keyring: keyring).install(bytes) {
                case .installed:
                    result.outcome = "installed"
                case let .rolledBack(_, _, kept, reason):
                    result.outcome = "rolled back"
                    result.detail = "\(kept.map { "v\($0)" } ?? "no set") stays current: \(reason)"
                }
            }
        } catch {
            result.outcome = "refused"
            result.detail = "\(error)"
        }
        return finish(result)
    }

    func finish(_ r: Result) -> Result {
        log("updates: \(r.kind) v\(r.sequence) from the cloud: \(r.outcome)\(r.detail.isEmpty ? "" : ": \(r.detail)")")
        do {
            let store = try EventStore(path: paths.eventStore)
            try store.recordUpdate(kind: r.kind, version: "\(r.sequence)", result: r.outcome,
                                   detail: r.detail.isEmpty ? nil : String(r.detail.prefix(500)))
        } catch {
            log("updates: recording the outcome in \(paths.eventStore) failed: \(error)")
        }
        return r
    }
}
