import Foundation
import UTMSystem

/// One installed definition set of one kind, as recorded in its `.meta` file.
public struct DefinitionVersion: Sendable, Codable, Equatable {
    public var kind: ArtifactKind
    public var sequence: UInt64
    public var created: UInt64
    public var expires: UInt64
    public var installed: UInt64
    public var digest: String
    /// The version directory (`<root>/<kind>/v<sequence>`), resolved: never through a symlink.
    public var directory: String

    /// Its files (not `.meta`), sorted by name.
    public func files() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory + "/" + $0 }
    }
}

/// The installed definition sets on disk:
///
///     <root>/<kind>/v<seq>/...      one directory per installed version (files + .meta)
///     <root>/<kind>/current -> v<seq>
///     <root>/<kind>/previous -> v<seq>
///     <root>/<kind>/highest         the highest sequence ever made current (anti-downgrade)
///
/// Why symlinks swapped by rename: a reader (utmd on SIGHUP) resolves `current` once and reads
/// the version directory it names, which never changes after it is written; the swap is one
/// atomic rename, so a reader sees the old set or the new one, never a half-written one. Every
/// write is durable (DurableFile): a power cut leaves the old `current` or the new one.
/// One writer at a time (utmctl or utmd's updater); readers are unlimited.
public struct DefinitionStore: Sendable {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public func kindDirectory(_ kind: ArtifactKind) -> String { root + "/" + kind.name }
    func link(_ kind: ArtifactKind, _ name: String) -> String { kindDirectory(kind) + "/" + name }

    /// The version `current` (or `previous`) points at, nil when there is none.
    public func current(_ kind: ArtifactKind) -> DefinitionVersion? { resolve(kind, "current") }
    public func previous(_ kind: ArtifactKind) -> DefinitionVersion? { resolve(kind, "previous") }

    func resolve(_ kind: ArtifactKind, _ name: String) -> DefinitionVersion? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: link(kind, name)) else { return nil }
        return version(kind, directory: kindDirectory(kind) + "/" + target)
    }

    func version(_ kind: ArtifactKind, directory: String) -> DefinitionVersion? {
        guard let data = FileManager.default.contents(atPath: directory + "/.meta") else { return nil }
        var fields: [String: String] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { fields[parts[0]] = parts[1] }
        }
        guard let seq = fields["sequence"].flatMap(UInt64.init) else { return nil }
        return DefinitionVersion(kind: kind, sequence: seq, created: fields["created"].flatMap(UInt64.init) ?? 0,
                                 expires: fields["expires"].flatMap(UInt64.init) ?? 0,
                                 installed: fields["installed"].flatMap(UInt64.init) ?? 0,
                                 digest: fields["digest"] ?? "", directory: directory)
    }

    /// The highest sequence ever made current for `kind` (0 when none).
    public func highestSequence(_ kind: ArtifactKind) -> UInt64 {
        let recorded = FileManager.default.contents(atPath: link(kind, "highest"))
            .flatMap { UInt64(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        return max(recorded, current(kind)?.sequence ?? 0)
    }

    /// Writes a new version directory (not yet current): files into a temporary directory,
    /// each durably, then one rename to `v<seq>`. Returns the version.
    public func stage(kind: ArtifactKind, sequence: UInt64, created: UInt64, expires: UInt64, digest: [UInt8],
                      files: [(name: String, bytes: [UInt8])], now: UInt64) throws -> DefinitionVersion {
        let fm = FileManager.default
        let kdir = kindDirectory(kind)
        try fm.createDirectory(atPath: kdir, withIntermediateDirectories: true)
        let final = kdir + "/v\(sequence)"
        if current(kind)?.directory == final {
            throw UpdateError("\(kind.name) v\(sequence) is the current set already")
        }
        let temp = kdir + "/.staging-v\(sequence)-\(getpid())"
        try? fm.removeItem(atPath: temp)
        try? fm.removeItem(atPath: final)
        try fm.createDirectory(atPath: temp, withIntermediateDirectories: false)
        for f in files {
            guard PayloadArchive.isSafeName(f.name) else { throw UpdateError("unsafe file name \(f.name)") }
            try DurableFile.write(f.bytes, to: temp + "/" + f.name)
        }
        let meta = "sequence=\(sequence)\ncreated=\(created)\nexpires=\(expires)\ninstalled=\(now)\ndigest=\(hex(digest))\n"
        try DurableFile.write(Array(meta.utf8), to: temp + "/.meta")
        guard rename(temp, final) == 0 else { throw SystemError(call: "rename", subject: final) }
        try DurableFile.syncDirectory(kdir)
        return DefinitionVersion(kind: kind, sequence: sequence, created: created, expires: expires, installed: now,
                                 digest: hex(digest), directory: final)
    }

    /// Makes `version` current; the old current becomes `previous`. Each link swap is one rename.
    public func activate(_ version: DefinitionVersion) throws {
        let kind = version.kind
        if let old = current(kind), old.directory != version.directory {
            try DurableFile.replaceSymlink(link(kind, "previous"), target: lastComponent(old.directory))
        }
        try DurableFile.replaceSymlink(link(kind, "current"), target: lastComponent(version.directory))
        let highest = max(highestSequence(kind), version.sequence)
        try DurableFile.write(Array("\(highest)\n".utf8), to: link(kind, "highest"))
        prune(kind)
    }

    /// Back to `previous` by hand (or after the running engine failed with the new set):
    /// `current` points at it, `previous` is removed. The abandoned set stays on disk until
    /// the next install prunes it; `highest` keeps it from being installed again.
    @discardableResult
    public func rollback(_ kind: ArtifactKind) throws -> DefinitionVersion {
        guard let prev = previous(kind) else { throw UpdateError("\(kind.name): no previous definition set to roll back to") }
        try DurableFile.replaceSymlink(link(kind, "current"), target: lastComponent(prev.directory))
        guard unlink(link(kind, "previous")) == 0 else { throw SystemError(call: "unlink", subject: link(kind, "previous")) }
        try DurableFile.syncDirectory(kindDirectory(kind))
        return prev
    }

    /// Removes a version directory that is neither current nor previous (a refused candidate).
    public func discard(_ version: DefinitionVersion) {
        guard version.directory != current(version.kind)?.directory,
              version.directory != previous(version.kind)?.directory else { return }
        try? FileManager.default.removeItem(atPath: version.directory)
    }

    /// Keeps only `current` and `previous` (and drops staging leftovers of a crash).
    public func prune(_ kind: ArtifactKind) {
        let keep = Set([current(kind)?.directory, previous(kind)?.directory].compactMap { $0.map(lastComponent) })
        let names = (try? FileManager.default.contentsOfDirectory(atPath: kindDirectory(kind))) ?? []
        for n in names where (n.hasPrefix("v") || n.hasPrefix(".staging-")) && !keep.contains(n) {
            try? FileManager.default.removeItem(atPath: kindDirectory(kind) + "/" + n)
        }
    }

    func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}

/// A refused update step: one line.
public struct UpdateError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
